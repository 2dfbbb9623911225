using Amazon.KeyManagementService.Model;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Storage.Sqlite;

using Rekey.Testing;

namespace Rekey.Providers.AwsKms.Tests;

/// <summary>The AWS KMS root against moto_server.</summary>
[Collection(nameof(MotoServer))]
public sealed class AwsKmsRootKeyProviderTests(MotoServer moto)
{
    private static readonly byte[] Binding = "rekey/kek/v1\0tenants/h42/k\0"u8.ToArray();

    [Fact]
    public async Task WrapsAndUnwraps_ThroughKms_BoundToTheSlot()
    {
        await using var root = await AwsKmsRootKeyProvider.OpenAsync(moto.Options());
        var material = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        var wrapped = await root.WrapAsync(material, Binding);
        Assert.Equal(material, await root.UnwrapAsync(wrapped, Binding));
        Assert.StartsWith("awskms:", root.KeyId, StringComparison.Ordinal);

        // The same key by its ARN is the same root.
        await using (var byArn = await AwsKmsRootKeyProvider.OpenAsync(moto.Options(moto.KeyArn)))
        {
            Assert.Equal(root.KeyId, byArn.KeyId);
            Assert.Equal(material, await byArn.UnwrapAsync(wrapped, Binding));
        }

        var flipped = (byte[])wrapped.Clone();
        flipped[^3] ^= 1;
        foreach (var (bad, binding) in new[] { (wrapped, "another slot"u8.ToArray()), (flipped, Binding), ([2, .. wrapped[1..]], Binding) })
        {
            var e = await Assert.ThrowsAsync<RekeyException>(async () => await root.UnwrapAsync(bad, binding));
            Assert.True(e.Code == RekeyErrorCode.RootKeyRefused, e.Message);
        }
    }

    [Fact]
    public async Task AMissingOrDisabledKey_StopsTheRootAtOpen_NamingIt()
    {
        var missing = await Assert.ThrowsAsync<RekeyException>(() => AwsKmsRootKeyProvider.OpenAsync(moto.Options("alias/absent")));
        Assert.Equal(RekeyErrorCode.RootKeyUnavailable, missing.Code);
        Assert.Contains("NotFound", missing.Message, StringComparison.Ordinal);

        using var kms = moto.Client();
        var key = await kms.CreateKeyAsync(new CreateKeyRequest());
        await kms.DisableKeyAsync(new DisableKeyRequest { KeyId = key.KeyMetadata.KeyId });
        var disabled = await Assert.ThrowsAsync<RekeyException>(() => AwsKmsRootKeyProvider.OpenAsync(moto.Options(key.KeyMetadata.KeyId)));
        Assert.Contains("is Disabled", disabled.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KmsGoneQuiet_IsUnavailable_ChangesNothing_AndTheServiceRecovers()
    {
        var directory = Directory.CreateTempSubdirectory("rekey-kms-").FullName;
        var key = KeyName.Parse("tenants/h42/quiet");
        try
        {
            await using var store = await SqliteKeyStore.OpenAsync(Path.Combine(directory, "rekey.db"));
            await using var root = await AwsKmsRootKeyProvider.OpenAsync(moto.Options());
            await using var service = new RekeyService(store, root);
            await service.CreateKeyAsync(key);
            var envelope = await service.EncryptAsync(key, "x"u8.ToArray(), Envelope.EncryptionContext.From("c"));

            // moto stops answering (SIGSTOP): a rotation needs KMS and fails as unavailable, changing nothing.
            moto.Signal("STOP");
            try
            {
                var e = await Assert.ThrowsAsync<RekeyException>(() => service.RotateAsync(key));
                Assert.Equal(RekeyErrorCode.RootKeyUnavailable, e.Code);
                Assert.Single(await service.ListVersionsAsync(key));

                // The cached version still decrypts.
                Assert.Equal("x"u8.ToArray(), await service.DecryptAsync(key, envelope, Envelope.EncryptionContext.From("c")));
            }
            finally
            {
                moto.Signal("CONT");
            }

            await service.RotateAsync(key);
            Assert.Equal(2, (await service.ListVersionsAsync(key)).Count);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("awskms:region=us-east-1", "needs key=")]
    [InlineData("awskms:key=alias/x;secret=1", "'secret' is not a setting of this root")]
    [InlineData("kms:key=alias/x", "awskms:key=")]
    public void Specs_AreCheckedWithTheReason(string spec, string expected)
    {
        var e = Assert.Throws<RekeyException>(() => AwsKmsRootOptions.Parse(spec));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
