using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Rekey.Access;
using Rekey.Envelope;
using Rekey.Keys;

namespace Rekey.Server.Tests;

/// <summary>Findings of the red-team pass at the HTTP edge: each test failed before its fix.</summary>
public sealed class EdgeHardeningTests
{
    [Fact]
    public async Task RefusalsWithInvalidKeyNames_AreListedToAStarToken()
    {
        await using var server = await ServerHarness.StartAsync();
        using (await server.SendAsync(HttpMethod.Get, "/v1/keys/" + new string('x', 300), "rkt_0123456789abcdef_" + new string('A', 43)))
        {
        }

        using var response = await server.SendAsync(HttpMethod.Get, "/v1/audit/events?limit=1000", server.AdminToken);
        var events = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("events");
        Assert.Contains(events.EnumerateArray(), e => e.GetProperty("outcome").GetString() == "refused:Unauthenticated");
        var count = (await server.Host.Service.ReadAuditAsync()).Count;
        Assert.Equal(count, events.GetArrayLength());
    }

    [Fact]
    public async Task Rewrap_OfAnEnvelopeClaimingTheActiveVersion_IsCheckedBeforeAnswering()
    {
        await using var server = await ServerHarness.StartAsync();
        using var client = server.Client();
        var key = KeyName.Parse("tenants/h42/p");
        await client.CreateKeyAsync(key);
        var v1 = await client.EncryptAsync(key, "x"u8.ToArray(), EncryptionContext.From("c"));
        await client.RotateAsync(key);

        // Edit the version field to claim v2: nothing else changes, so it looks current.
        var forged = (byte[])v1.Clone();
        var layout = EnvelopeReader.ReadHeader(forged);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(forged.AsSpan(5 + key.Value.Length), 2);  // docs/formats.md: the version at 5+L
        Assert.Equal(2, EnvelopeReader.ReadHeader(forged).Version);
        Assert.Equal(1, layout.Version);

        using var response = await server.SendAsync(HttpMethod.Post, "/v1/rewrap/" + key, server.AdminToken, $$"""{"ciphertext":"{{EnvelopeText.Encode(forged)}}"}""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("DecryptionFailed", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString());
    }

    [Fact]
    public async Task DuplicateJsonFields_AreRefused()
    {
        await using var server = await ServerHarness.StartAsync();
        using var client = server.Client();
        await client.CreateKeyAsync(KeyName.Parse("tenants/h42/p"));
        using var response = await server.SendAsync(HttpMethod.Post, "/v1/encrypt/tenants/h42/p", server.AdminToken, """{"plaintext":"eA==","context":"a","context":"b"}""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("given twice", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/v1/keys/tenants/h42/../h99/p")]
    [InlineData("/v1/keys/tenants/h42/%2e%2e/h99/p")]
    [InlineData("/v1/keys/tenants/h42/%2E%2E/h99/p")]
    [InlineData("/v1/keys/tenants/./h99/p")]
    [InlineData("/v1/./keys/tenants/h99/p")]
    public async Task DotSegments_AreRefusedBeforeRouting(string path)
    {
        await using var server = await ServerHarness.StartAsync();
        using var client = server.Client();
        await client.CreateKeyAsync(KeyName.Parse("tenants/h99/p"));
        var h42 = await server.TokenAsync(Role.Auditor, "*");

        // Sent raw: HttpClient would resolve the dot segments itself.
        var status = await RawGetAsync(server.Host.Address, path, h42);
        Assert.Equal(400, status);
    }

    [Fact]
    public async Task Reason_CannotForgeRequestOrClient_AndItsControlCharactersStayInTheField()
    {
        await using var server = await ServerHarness.StartAsync();
        using var client = server.Client();
        await client.CreateKeyAsync(KeyName.Parse("tenants/h42/p"));
        const string Forged = "x; request: 0HFAKE; client: 10.9.8.7\u001b[2J";
        using (await server.SendAsync(HttpMethod.Post, "/v1/rotate/tenants/h42/p", server.AdminToken, JsonSerializer.Serialize(new { reason = Forged })))
        {
        }

        var rotation = (await server.Host.Service.ReadAuditAsync()).Single(e => e.Record.Action == "key.rotate");
        Assert.Equal(Forged, rotation.Record.Reason);
        Assert.Equal("127.0.0.1", rotation.Record.Client);
        Assert.NotEqual("0HFAKE", rotation.Record.RequestId);
        Assert.DoesNotContain("10.9.8.7", rotation.Record.Details ?? string.Empty, StringComparison.Ordinal);
        Assert.True((await server.Host.Service.VerifyAuditAsync()).IsValid);
        Assert.True((await client.VerifyAuditAsync()).IsValid);
    }

    [Fact]
    public async Task WrongSecretForARealTokenId_IsRecordedAsAnonymous_WithThePresentedIdApart()
    {
        await using var server = await ServerHarness.StartAsync();
        var real = await server.TokenAsync(Role.Admin, "*");
        var id = real.Split('_')[1];
        // Change the secret's first character: the last one also carries padding bits, and a
        // non-canonical change there would make the secret malformed rather than wrong.
        var at = real.IndexOf('_', 4) + 1;
        var wrong = real[..at] + (real[at] == 'A' ? 'B' : 'A') + real[(at + 1)..];
        using (await server.SendAsync(HttpMethod.Get, "/v1/keys", wrong))
        {
        }

        var refusal = (await server.Host.Service.ReadAuditAsync()).Single(e => e.Record.Outcome == "refused:Unauthenticated");
        Assert.Equal("anonymous", refusal.Record.Actor);
        Assert.Equal(id, refusal.Record.PresentedTokenId);
    }

    [Fact]
    public async Task RefusedLongInvalidKeyNames_AreTruncatedAndMarked()
    {
        await using var server = await ServerHarness.StartAsync();
        using (await server.SendAsync(HttpMethod.Get, "/v1/keys/" + new string('Q', 7900), null))
        {
        }

        var refusal = (await server.Host.Service.ReadAuditAsync()).Single(e => e.Record.Outcome.StartsWith("refused:", StringComparison.Ordinal));
        Assert.Equal("invalid:" + new string('Q', KeyName.MaxLength), refusal.Record.Key);
    }

    [Fact]
    public async Task AnonymousFlood_IsAuditedUpToTheRate_ThenSummarisedPerAddress()
    {
        await using var server = await ServerHarness.StartAsync(o => o.AuditedRefusalsPerMinute = 5);
        var before = (await server.Host.Service.ReadAuditAsync(0, 10_000)).Count;
        for (var i = 0; i < 60; i++)
        {
            using var response = await server.SendAsync(HttpMethod.Get, "/v1/keys/" + new string('z', 7900), $"rkt_{i:x16}_" + new string('A', 43));
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        var during = (await server.Host.Service.ReadAuditAsync(0, 10_000)).Skip(before).ToList();
        Assert.Equal(5, during.Count);

        await Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Access.RefusalSummaryWorker>(server.Host.Services).FlushAsync(CancellationToken.None);
        var summary = (await server.Host.Service.ReadAuditAsync(0, 10_000)).Last();
        Assert.Equal("auth.refusals", summary.Record.Action);
        Assert.Equal("127.0.0.1", summary.Record.Client);
        Assert.StartsWith("55 refusals from 127.0.0.1", summary.Record.Details, StringComparison.Ordinal);
        Assert.All(during, e => Assert.True(e.Record.Key!.Length <= "invalid:".Length + KeyName.MaxLength));
        Assert.True((await server.Host.Service.VerifyAuditAsync()).IsValid);
    }

    [Fact]
    public async Task KeyRead_PagesItsVersions_AndTheClientFollowsThePages()
    {
        await using var server = await ServerHarness.StartAsync();
        using var client = server.Client();
        var key = KeyName.Parse("tenants/h42/p");
        await client.CreateKeyAsync(key);
        for (var i = 0; i < 149; i++)
        {
            await server.Host.Service.RotateAsync(key);
        }

        using var first = await server.SendAsync(HttpMethod.Get, "/v1/keys/" + key, server.AdminToken);
        var page = JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(100, page.GetProperty("versions").GetArrayLength());
        Assert.Equal(100, page.GetProperty("next_versions_after").GetInt32());
        using var second = await server.SendAsync(HttpMethod.Get, $"/v1/keys/{key}?versions_after=100", server.AdminToken);
        var last = JsonDocument.Parse(await second.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(50, last.GetProperty("versions").GetArrayLength());
        Assert.False(last.TryGetProperty("next_versions_after", out _));

        var all = await client.ListVersionsAsync(key);
        Assert.Equal(Enumerable.Range(1, 150), all.Select(v => v.Version));
    }

    [Fact]
    public async Task UnreadableWitnessFile_IsAnInvalidVerdict_NotAServerError()
    {
        var witness = Path.Combine(Directory.CreateTempSubdirectory("rekey-witness-").FullName, "witness.jsonl");
        await using var server = await ServerHarness.StartAsync(o => o.AuditWitness = witness);
        using var client = server.Client();
        await client.CreateKeyAsync(KeyName.Parse("tenants/h42/p"));
        await File.WriteAllTextAsync(witness, "not a checkpoint line\n");

        using var response = await server.SendAsync(HttpMethod.Get, "/v1/audit/verify", server.AdminToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var verdict = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.False(verdict.GetProperty("valid").GetBoolean());
        Assert.Contains("witness file cannot be read", verdict.GetProperty("problem").GetString(), StringComparison.Ordinal);
    }

    private static async Task<int> RawGetAsync(Uri address, string path, string token)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port);
        await using var stream = tcp.GetStream();
        var request = $"GET {path} HTTP/1.1\r\nHost: {address.Authority}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var statusLine = await reader.ReadLineAsync();
        return int.Parse(statusLine!.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
