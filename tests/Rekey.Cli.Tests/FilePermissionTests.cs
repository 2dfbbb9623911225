namespace Rekey.Cli.Tests;

/// <summary>Store files are created owner-only, and a store readable by group or others is refused with the fix.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class FilePermissionTests : IDisposable
{
    private const UnixFileMode Owner = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerFolder = Owner | UnixFileMode.UserExecute;
    private readonly RekeyProcess _rekey = new();

    [Fact]
    public void Init_IntoAnExisting0755Folder_MakesFolderAndFilesOwnerOnly()
    {
        Directory.CreateDirectory(_rekey.StoreDir, OwnerFolder | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        _rekey.Run("init").Ok();
        _rekey.Run("key", "create", "app/k").Ok();

        Assert.Equal(OwnerFolder, File.GetUnixFileMode(_rekey.StoreDir));
        foreach (var file in new[] { "rekey.db", "rekey.db-wal", "rekey.db-shm", "rekey.json", "root.key" })
        {
            var path = Path.Combine(_rekey.StoreDir, file);
            if (File.Exists(path))
            {
                Assert.True(File.GetUnixFileMode(path) == Owner, $"{file}: {File.GetUnixFileMode(path)}");
            }
        }

        Assert.True(File.Exists(Path.Combine(_rekey.StoreDir, "rekey.db")));
    }

    [Theory]
    [InlineData("rekey.json", "chmod 600")]
    [InlineData("rekey.db", "chmod 600")]
    [InlineData("", "chmod 700")]
    public void StoreReadableByOthers_IsRefused_WithTheFix(string file, string fix)
    {
        _rekey.Run("init").Ok();
        _rekey.Run("key", "create", "app/k").Ok();
        var path = file.Length == 0 ? _rekey.StoreDir : Path.Combine(_rekey.StoreDir, file);
        File.SetUnixFileMode(path, File.GetUnixFileMode(path) | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var refused = _rekey.Run("key", "list");
        Assert.Equal(7, refused.ExitCode);
        Assert.Contains("accessible by group or others", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains(fix, refused.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", refused.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ServerConfigFile_ReadableByOthers_IsRefused()
    {
        _rekey.Run("init").Ok();
        var config = Path.Combine(Path.GetDirectoryName(_rekey.StoreDir)!, "server.json");
        File.WriteAllText(config, "{\"listen\":\"http://127.0.0.1:0\"}");
        File.SetUnixFileMode(config, Owner | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var refused = _rekey.Run("server", "--config", config);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("chmod 600", refused.Stderr, StringComparison.Ordinal);
    }

    public void Dispose() => _rekey.Dispose();
}
