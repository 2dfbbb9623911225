using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Rekey.Access;
using Rekey.Envelope;
using Rekey.Files;
using Rekey.Keys;

namespace Rekey.Server.Tests;

/// <summary>Encrypted files' headers over HTTP: the data key unwrapped for a client that decrypts locally, and a header re-wrapped.</summary>
public sealed class FileApiTests
{
    private static readonly KeyName Key = KeyName.Parse("backups/db");

    [Fact]
    public async Task AHeader_IsUnwrappedForItsContextOnly_AndReWrappedWithoutTheData()
    {
        await using var server = await ServerHarness.StartAsync();
        var client = server.Client();
        await client.CreateKeyAsync(Key);
        var plaintext = RandomNumberGenerator.GetBytes(200_000);
        using var file = new MemoryStream();
        await using (var encryptor = await RekeyFileStreams.CreateEncryptorAsync(file, client, Key, EncryptionContext.From("db=app"), leaveOpen: true))
        {
            await encryptor.WriteAsync(plaintext);
        }

        var bytes = file.ToArray();
        var header = Convert.ToBase64String(bytes, 0, FileLayout.HeaderSize);
        var app = await server.TokenAsync(Role.Application, "backups/*");

        using (var unwrapped = await server.SendAsync(HttpMethod.Post, "/v1/files/unwrap/" + Key, app, $$"""{"header":"{{header}}","context":"db=app"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, unwrapped.StatusCode);
            using var body = JsonDocument.Parse(await unwrapped.Content.ReadAsStringAsync());
            var dataKey = Convert.FromBase64String(body.RootElement.GetProperty("data_key").GetString()!);
            var envelope = RekeyFileStreams.ActiveEnvelope(bytes, out _).ToArray();
            Assert.Equal(await client.DecryptAsync(Key, envelope, EncryptionContext.From("db=app")), dataKey);
            Assert.Equal("no-store", unwrapped.Headers.CacheControl!.ToString());
        }

        using (var wrong = await server.SendAsync(HttpMethod.Post, "/v1/files/unwrap/" + Key, app, $$"""{"header":"{{header}}","context":"db=other"}"""))
        {
            Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
            Assert.Contains("DecryptionFailed", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var elsewhere = await server.SendAsync(HttpMethod.Post, "/v1/files/unwrap/backups/other", app, $$"""{"header":"{{header}}","context":"db=app"}"""))
        {
            Assert.NotEqual(HttpStatusCode.OK, elsewhere.StatusCode);
        }

        await client.RotateAsync(Key);
        using var rewrapped = await server.SendAsync(HttpMethod.Post, "/v1/files/rewrap/" + Key, app, $$"""{"header":"{{header}}"}""");
        using var result = JsonDocument.Parse(await rewrapped.Content.ReadAsStringAsync());
        Assert.Equal(2, result.RootElement.GetProperty("version").GetInt32());
        Convert.FromBase64String(result.RootElement.GetProperty("header").GetString()!).CopyTo(bytes, 0);
        Assert.Equal(2, (await RekeyFileStreams.InspectAsync(new MemoryStream(bytes))).Version);

        await client.DisableAsync(Key, 1);
        await using var decryptor = await RekeyFileStreams.OpenDecryptorAsync(new MemoryStream(bytes), client, EncryptionContext.From("db=app"));
        using var output = new MemoryStream();
        await decryptor.CopyToAsync(output);
        Assert.Equal(plaintext, output.ToArray());
    }
}
