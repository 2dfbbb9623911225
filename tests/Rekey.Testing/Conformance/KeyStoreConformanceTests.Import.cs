using System.Security.Cryptography;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Root;
using Rekey.Storage;

namespace Rekey.Testing.Conformance;

/// <summary>Bring your own key on every store and under every root the suite runs with.</summary>
public abstract partial class KeyStoreConformanceTests
{
    [Fact]
    public async Task Import_MaterialWrappedForTheToken_BecomesAnImportedActiveVersion_AndTheTokenIsSpent()
    {
        await Service.CreateKeyAsync(Key);
        var issued = await Service.CreateImportTokenAsync(Key);
        Assert.Equal((Key, ImportParameters.RsaOaepSha256, Time.GetUtcNow().AddHours(24)), (issued.Key, issued.Algorithm, issued.ExpiresAt));
        var material = RandomNumberGenerator.GetBytes(32);
        var wrapped = Wrap(issued.PublicKeyPem, material);

        var version = await Service.ImportAsync(Key, issued.Token, wrapped);
        Assert.Equal((2, KeyVersionState.Active, KeyVersionOrigin.Imported), (version.Version, version.State, version.Origin));
        var versions = await Store.GetVersionsAsync(Key);
        Assert.Equal((KeyVersionOrigin.Generated, KeyVersionOrigin.Imported), (versions[0].Info.Origin, versions[1].Info.Origin));

        // The version's KEK is exactly the material brought in.
        var kek = await Root.UnwrapAsync(versions[1].WrappedMaterial!, RootBindings.ForKeyVersion(Key, 2));
        Assert.Equal(material, kek);
        var envelope = await Service.EncryptAsync(Key, Plaintext, Context);
        Assert.Equal(Plaintext, (await Service.DecryptAsync(Key, envelope, Context)).ToArray());

        var spent = await ((IImportTokenStore)Store).FindImportTokenAsync(issued.Token);
        Assert.Equal((Time.GetUtcNow(), 2), (spent!.UsedAt!.Value, spent.UsedVersion!.Value));
        Assert.Null(spent.WrappedPrivateKey);
        var again = await Assert.ThrowsAsync<RekeyException>(() => Service.ImportAsync(Key, issued.Token, wrapped));
        Assert.Equal(RekeyErrorCode.ImportRefused, again.Code);
        Assert.Contains("spent already", again.Message, StringComparison.Ordinal);

        var events = await Service.ReadAuditAsync();
        Assert.Contains(events, e => e.Record.Action == "key.import_token" && e.Record.Details!.Contains(issued.Token, StringComparison.Ordinal));
        var imported = Assert.Single(events, e => e.Record.Action == "key.import" && e.Record.Outcome == "success");
        Assert.Contains("imported material, import token " + issued.Token, imported.Record.Details, StringComparison.Ordinal);
        Assert.Contains(events, e => e.Record.Action == "key.import" && e.Record.Outcome == "refused:ImportRefused");
        var verified = await Service.VerifyAuditAsync();
        Assert.True(verified.IsValid, verified.Problem);
    }

    [Fact]
    public async Task Import_RefusesUnwrappedForeignShortExpiredAndOtherKeysMaterial_ChangingNothing()
    {
        await Service.CreateKeyAsync(Key);
        var other = KeyName.Parse("tenants/h43/patients");
        await Service.CreateKeyAsync(other);
        var issued = await Service.CreateImportTokenAsync(Key, TimeSpan.FromHours(1));
        var material = RandomNumberGenerator.GetBytes(32);
        using var foreign = RSA.Create(4096);

        async Task<string> RefusedAsync(KeyName key, string token, byte[] wrapped)
        {
            var e = await Assert.ThrowsAsync<RekeyException>(() => Service.ImportAsync(key, token, wrapped));
            Assert.Equal(RekeyErrorCode.ImportRefused, e.Code);
            Assert.Single(await Store.GetVersionsAsync(Key));
            Assert.Single(await Store.GetVersionsAsync(other));
            return e.Message;
        }

        Assert.Contains("unwrapped", await RefusedAsync(Key, issued.Token, material), StringComparison.Ordinal);
        Assert.Contains("not wrapped under the public key", await RefusedAsync(Key, issued.Token, Wrap(PemEncoding.WriteString("PUBLIC KEY", foreign.ExportSubjectPublicKeyInfo()), material)), StringComparison.Ordinal);
        Assert.Contains("is 16 bytes", await RefusedAsync(Key, issued.Token, Wrap(issued.PublicKeyPem, material[..16])), StringComparison.Ordinal);
        Assert.Contains("is for key 'tenants/h42/patients'", await RefusedAsync(other, issued.Token, Wrap(issued.PublicKeyPem, material)), StringComparison.Ordinal);
        Assert.Contains("no import token", await RefusedAsync(Key, "imp_000000000000000000000000", Wrap(issued.PublicKeyPem, material)), StringComparison.Ordinal);
        Time.Advance(TimeSpan.FromHours(1));
        Assert.Contains("expired", await RefusedAsync(Key, issued.Token, Wrap(issued.PublicKeyPem, material)), StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexString(material), string.Concat((await Service.ReadAuditAsync()).Select(e => e.Record.Details)), StringComparison.OrdinalIgnoreCase);

        // An expired token's private key is erased when the next token is made.
        await Service.CreateImportTokenAsync(Key);
        Assert.Null((await ((IImportTokenStore)Store).FindImportTokenAsync(issued.Token))!.WrappedPrivateKey);
        await Assert.ThrowsAsync<RekeyException>(() => Service.CreateImportTokenAsync(Key, TimeSpan.FromDays(8)));
        await Assert.ThrowsAsync<RekeyException>(() => Service.CreateImportTokenAsync(KeyName.Parse("no/such/key")));
    }

    private static byte[] Wrap(string publicKeyPem, byte[] material)
    {
        using var rsa = RSA.Create();
        rsa.ImportFromPem(publicKeyPem);
        return rsa.Encrypt(material, RSAEncryptionPadding.OaepSHA256);
    }
}
