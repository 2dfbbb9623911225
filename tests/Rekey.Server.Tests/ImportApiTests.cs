using System.Net;
using System.Security.Cryptography;
using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Keys;

namespace Rekey.Server.Tests;

/// <summary>Bring your own key over HTTP: the import token, the import, the version's origin, and the 400 for a refusal.</summary>
public sealed class ImportApiTests
{
    private static readonly KeyName Key = KeyName.Parse("tenants/h42/patients");

    [Fact]
    public async Task ImportOverHttp_AddsAnImportedVersion_AndARefusalIs400ImportRefused()
    {
        await using var server = await ServerHarness.StartAsync();
        using var client = server.Client();
        await client.CreateKeyAsync(Key);
        var issued = await client.CreateImportTokenAsync(Key, TimeSpan.FromMinutes(10));
        Assert.Equal(ImportParameters.RsaOaepSha256, issued.Algorithm);
        Assert.InRange(issued.ExpiresAt - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));

        using var rsa = RSA.Create();
        rsa.ImportFromPem(issued.PublicKeyPem);
        var material = RandomNumberGenerator.GetBytes(32);

        // Unwrapped material: 400 with the typed code, and the key keeps one version.
        using (var refused = await server.SendAsync(HttpMethod.Post, "/v1/import/" + Key, server.AdminToken, $$"""{"token":"{{issued.Token}}","wrapped_material":"{{Convert.ToBase64String(material)}}"}"""))
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("ImportRefused", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Single(await client.ListVersionsAsync(Key));

        var version = await client.ImportAsync(Key, issued.Token, rsa.Encrypt(material, RSAEncryptionPadding.OaepSHA256), activate: false);
        Assert.Equal((2, KeyVersionState.Pending, KeyVersionOrigin.Imported), (version.Version, version.State, version.Origin));
        await client.ActivateAsync(Key, 2);
        var context = EncryptionContext.From("id=1");
        var envelope = await client.EncryptAsync(Key, "record"u8.ToArray(), context);
        Assert.Equal(2, EnvelopeReader.ReadVersion(envelope));
        Assert.Equal("record"u8.ToArray(), await client.DecryptAsync(Key, envelope, context));
        Assert.Equal(KeyVersionOrigin.Imported, (await client.ListVersionsAsync(Key))[1].Origin);

        var spent = await Assert.ThrowsAsync<RekeyException>(() => client.ImportAsync(Key, issued.Token, rsa.Encrypt(material, RSAEncryptionPadding.OaepSHA256)));
        Assert.Equal(RekeyErrorCode.ImportRefused, spent.Code);
    }
}
