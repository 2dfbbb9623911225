using Rekey.Errors;
using Rekey.Root;

namespace Rekey.Core.Tests.Root;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class LocalRootKeyProviderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rekey-root-").FullName;

    [Fact]
    public async Task KeyFile_IsOwnerOnlyAndReopensToTheSameKey()
    {
        var path = Path.Combine(_dir, "root.key");
        byte[] wrapped;
        string id;
        using (var created = LocalRootKeyProvider.CreateKeyFile(path))
        {
            wrapped = await created.WrapAsync(new byte[32], "slot"u8.ToArray());
            id = created.KeyId;
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        using var reopened = LocalRootKeyProvider.OpenKeyFile(path);
        Assert.Equal(id, reopened.KeyId);
        Assert.Equal(new byte[32], await reopened.UnwrapAsync(wrapped, "slot"u8.ToArray()));
    }

    [Fact]
    public async Task AfterDispose_WrapAndUnwrap_AreRefused_NotRunWithAZeroedKey()
    {
        var provider = LocalRootKeyProvider.CreateKeyFile(Path.Combine(_dir, "root.key"));
        var wrapped = await provider.WrapAsync(new byte[32], "slot"u8.ToArray());
        await provider.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await provider.WrapAsync(new byte[32], "slot"u8.ToArray()));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await provider.UnwrapAsync(wrapped, "slot"u8.ToArray()));
        provider.Dispose();
    }

    [Fact]
    public void CreateKeyFile_WhenFileExists_Refuses()
    {
        var path = Path.Combine(_dir, "root.key");
        LocalRootKeyProvider.CreateKeyFile(path).Dispose();
        Assert.Throws<IOException>(() => LocalRootKeyProvider.CreateKeyFile(path));
    }

    [Theory]
    [InlineData(UnixFileMode.GroupRead)]
    [InlineData(UnixFileMode.OtherRead)]
    [InlineData(UnixFileMode.GroupWrite)]
    public void OpenKeyFile_ReadableByOthers_Refuses(UnixFileMode extra)
    {
        var path = Path.Combine(_dir, "root.key");
        LocalRootKeyProvider.CreateKeyFile(path).Dispose();
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | extra);
        var e = Assert.Throws<RekeyException>(() => LocalRootKeyProvider.OpenKeyFile(path));
        Assert.Equal(RekeyErrorCode.RootKeyUnavailable, e.Code);
        Assert.Contains("chmod 600", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OpenKeyFile_NotAKeyFile_Refuses()
    {
        var path = Path.Combine(_dir, "root.key");
        File.WriteAllBytes(path, new byte[40]);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Equal(RekeyErrorCode.RootKeyUnavailable, Assert.Throws<RekeyException>(() => LocalRootKeyProvider.OpenKeyFile(path)).Code);
    }

    [Fact]
    public async Task Passphrase_SameKeyFromSamePassphrase_WrongPassphraseRefused()
    {
        var path = Path.Combine(_dir, "root.params");
        byte[] wrapped;
        using (var created = LocalRootKeyProvider.CreateFromPassphrase(path, "correct horse battery staple"))
        {
            wrapped = await created.WrapAsync(new byte[] { 1, 2, 3 }, "b"u8.ToArray());
        }

        using (var reopened = LocalRootKeyProvider.OpenFromPassphrase(path, "correct horse battery staple"))
        {
            Assert.Equal(new byte[] { 1, 2, 3 }, await reopened.UnwrapAsync(wrapped, "b"u8.ToArray()));
        }

        var e = Assert.Throws<RekeyException>(() => LocalRootKeyProvider.OpenFromPassphrase(path, "wrong horse battery staple"));
        Assert.Equal(RekeyErrorCode.RootKeyUnavailable, e.Code);
        Assert.DoesNotContain("horse", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Passphrase_TooFewIterations_Refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => LocalRootKeyProvider.CreateFromPassphrase(Path.Combine(_dir, "p"), "correct horse battery", 1000));

    [Fact]
    public async Task Unwrap_WithOtherBinding_Refuses()
    {
        using var root = LocalRootKeyProvider.CreateKeyFile(Path.Combine(_dir, "root.key"));
        var wrapped = await root.WrapAsync(new byte[32], "tenants/a\0001"u8.ToArray());
        var e = await Assert.ThrowsAsync<RekeyException>(async () => await root.UnwrapAsync(wrapped, "tenants/a\0002"u8.ToArray()));
        Assert.Equal(RekeyErrorCode.RootKeyRefused, e.Code);
    }

    [Fact]
    public async Task Unwrap_UnderAnotherRoot_Refuses()
    {
        using var a = LocalRootKeyProvider.CreateKeyFile(Path.Combine(_dir, "a.key"));
        using var b = LocalRootKeyProvider.CreateKeyFile(Path.Combine(_dir, "b.key"));
        Assert.NotEqual(a.KeyId, b.KeyId);
        var wrapped = await a.WrapAsync(new byte[32], "x"u8.ToArray());
        var e = await Assert.ThrowsAsync<RekeyException>(async () => await b.UnwrapAsync(wrapped, "x"u8.ToArray()));
        Assert.Equal(RekeyErrorCode.RootKeyRefused, e.Code);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
