using System.Net;
using System.Text;
using System.Text.Json;

namespace Rekey.Server.Tests;

/// <summary>Malformed requests get a 4xx problem document with a stable code, never a 500, and change nothing.</summary>
public sealed class BadInputTests
{
    private const string Key = "tenants/h42/patients";

    public static TheoryData<string, string, string?, int, string> Cases => new()
    {
        { "POST", "/v1/keys/" + Key, "{", 400, "InvalidRequest" },
        { "POST", "/v1/keys/tenants/h42/new", "[]", 400, "InvalidRequest" },
        { "POST", "/v1/keys/tenants/h42/new", "null", 400, "InvalidRequest" },
        { "POST", "/v1/keys/tenants/h42/new", """{"destruction_delay_seconds":"1d"}""", 400, "InvalidRequest" },
        { "POST", "/v1/keys/tenants/h42/new", """{"destruction_delay_seconds":-1}""", 400, "InvalidRequest" },
        { "POST", "/v1/keys/tenants/h42/new", """{"destruction_delay_secs":1}""", 400, "InvalidRequest" },
        { "POST", "/v1/keys/Tenants/UPPER", "{}", 400, "InvalidRequest" },
        { "POST", "/v1/keys/tenants//x", "{}", 400, "InvalidRequest" },
        { "POST", "/v1/keys/tenants%2Fh42%2Fenc", "{}", 400, "InvalidRequest" },
        { "POST", "/v1/keys/" + Key, "{}", 409, "KeyExists" },
        { "PATCH", "/v1/keys/" + Key, "{}", 400, "InvalidRequest" },
        { "PATCH", "/v1/keys/" + Key, """{"min_decryption_version":0}""", 400, "InvalidRequest" },
        { "PATCH", "/v1/keys/" + Key, """{"min_decryption_version":1.5}""", 400, "InvalidRequest" },
        { "DELETE", "/v1/keys/" + Key, null, 409, "PolicyViolation" },
        { "GET", "/v1/keys/tenants/h42/none", null, 404, "KeyNotFound" },
        { "GET", "/v1/keys?limit=abc", null, 400, "InvalidRequest" },
        { "GET", "/v1/keys?limit=0", null, 400, "InvalidRequest" },
        { "POST", "/v1/rotate/" + Key, """{"expected_version":"one"}""", 400, "InvalidRequest" },
        { "POST", "/v1/rotate/" + Key, """{"expected_version":99}""", 409, "Conflict" },
        { "POST", "/v1/rotate/tenants/h42/none", "{}", 404, "KeyNotFound" },
        { "POST", "/v1/disable/" + Key, "", 400, "InvalidRequest" },
        { "POST", "/v1/disable/" + Key, "{}", 400, "InvalidRequest" },
        { "POST", "/v1/disable/" + Key, """{"version":"1"}""", 400, "InvalidRequest" },
        { "POST", "/v1/disable/" + Key, """{"version":99999999999}""", 400, "InvalidRequest" },
        { "POST", "/v1/disable/" + Key, """{"version":7}""", 404, "VersionNotFound" },
        { "POST", "/v1/retire/" + Key, """{"version":1,"grace_seconds":-5}""", 400, "InvalidRequest" },
        { "POST", "/v1/encrypt/" + Key, """{"plaintext":"!!!","context":"c"}""", 400, "InvalidRequest" },
        { "POST", "/v1/encrypt/" + Key, """{"plaintext":"aGk="}""", 400, "InvalidRequest" },
        { "POST", "/v1/encrypt/" + Key, """{"plaintext":5,"context":"c"}""", 400, "InvalidRequest" },
        { "POST", "/v1/encrypt/" + Key, """{"plaintext":"aGk=","context":"c","items":[]}""", 400, "InvalidRequest" },
        { "POST", "/v1/encrypt/" + Key, """{"items":[]}""", 400, "InvalidRequest" },
        { "POST", "/v1/encrypt/" + Key, """{"items":[null]}""", 200, "" },
        { "POST", "/v1/encrypt/" + Key, """{"items":{"plaintext":"aGk="}}""", 400, "InvalidRequest" },
        { "POST", "/v1/encrypt/" + Key, "{}", 400, "InvalidRequest" },
        { "POST", "/v1/encrypt/" + Key, """{"items":[{"plaintext":"aGk=","context":"c","x":1}]}""", 400, "InvalidRequest" },
        { "POST", "/v1/encrypt/" + Key, """{"items":[{"plaintext":"aGk=","context":"c","context":"d"}]}""", 400, "InvalidRequest" },
        { "POST", "/v1/encrypt/" + Key, """{"items":[{"plaintext":"aGk=","context":7}]}""", 400, "InvalidRequest" },
        { "POST", "/v1/encrypt/" + Key, """{"plaintext":"aGk=","context":"c"} trailing""", 400, "InvalidRequest" },
        { "POST", "/v1/encrypt/" + Key, "null", 400, "InvalidRequest" },
        { "POST", "/v1/encrypt/tenants/h42/none", """{"plaintext":"aGk=","context":"c"}""", 404, "KeyNotFound" },
        { "POST", "/v1/encrypt/" + Key, "{\"a\":" + new string('[', 100) + new string(']', 100) + "}", 400, "InvalidRequest" },
        { "POST", "/v1/decrypt/" + Key, """{"ciphertext":"rekey:v1:%%%","context":"c"}""", 400, "DecryptionFailed" },
        { "POST", "/v1/decrypt/" + Key, """{"ciphertext":"hello","context":"c"}""", 400, "DecryptionFailed" },
        { "POST", "/v1/decrypt/" + Key, """{"ciphertext":"rekey:v1:AAAA"}""", 400, "DecryptionFailed" },
        { "POST", "/v1/rewrap/" + Key, """{"ciphertext":7}""", 400, "InvalidRequest" },
        { "POST", "/v1/datakey/" + Key, """{"context":"c","bytes":8}""", 400, "InvalidRequest" },
        { "POST", "/v1/datakey/" + Key, """{"context":"c","wrapped_only":"yes"}""", 400, "InvalidRequest" },
        { "GET", "/v1/audit/events?since=yesterday", null, 400, "InvalidRequest" },
        { "GET", "/v1/audit/events?after=-1", null, 400, "InvalidRequest" },
        { "GET", "/v1/audit/verify?head=12:zz", null, 400, "InvalidRequest" },
        { "POST", "/v1/tokens", """{"name":"x","roles":["root"],"key_patterns":["*"]}""", 400, "InvalidRequest" },
        { "POST", "/v1/tokens", """{"name":"x","roles":["admin"],"key_patterns":["a/*/b"]}""", 400, "InvalidRequest" },
        { "POST", "/v1/tokens", """{"name":"x","roles":["admin"],"key_patterns":[]}""", 400, "InvalidRequest" },
        { "POST", "/v1/tokens", """{"name":"","roles":["admin"],"key_patterns":["*"]}""", 400, "InvalidRequest" },
        { "POST", "/v1/tokens", """{"name":"x","roles":["admin"],"key_patterns":["*"],"ttl_seconds":0}""", 400, "InvalidRequest" },
        { "DELETE", "/v1/tokens/0123456789abcdef", null, 404, "TokenNotFound" },
        { "DELETE", "/v1/tokens/../../etc", null, 404, "RouteNotFound" },
        { "PUT", "/v1/keys/" + Key, "{}", 405, "InvalidRequest" },
        { "GET", "/v2/keys", null, 404, "RouteNotFound" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadRequest_GetsAProblem_AndChangesNothing(string method, string path, string? body, int status, string code)
    {
        await using var server = await ServerHarness.StartAsync();
        using var client = server.Client();
        await client.CreateKeyAsync(Keys.KeyName.Parse(Key));
        var before = await SnapshotAsync(server);

        using var response = await server.SendAsync(new HttpMethod(method), path, server.AdminToken, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"{method} {path}: expected {status}, got {(int)response.StatusCode}: {text}");
        if (status != 200)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            using var problem = JsonDocument.Parse(text);
            Assert.Equal(code, problem.RootElement.GetProperty("code").GetString());
            Assert.Equal(status, problem.RootElement.GetProperty("status").GetInt32());
            Assert.False(string.IsNullOrEmpty(problem.RootElement.GetProperty("detail").GetString()));
            Assert.Equal(response.Headers.GetValues("X-Request-Id").Single(), problem.RootElement.GetProperty("request_id").GetString());
        }
        else
        {
            // A batch answers 200 and reports the bad item in its place.
            using var batch = JsonDocument.Parse(text);
            Assert.Equal(1, batch.RootElement.GetProperty("failed").GetInt32());
            Assert.Equal("InvalidRequest", batch.RootElement.GetProperty("results")[0].GetProperty("error").GetProperty("code").GetString());
        }

        // Refusals by the lifecycle or a policy are evidence and get an audit event; nothing else does.
        var after = await SnapshotAsync(server);
        Assert.Equal(before.Keys, after.Keys);
        if (code is "PolicyViolation" or "VersionNotFound" or "Conflict")
        {
            Assert.True(after.AuditCount <= before.AuditCount + 1);
        }
        else
        {
            Assert.Equal(before.AuditCount, after.AuditCount);
        }
    }

    [Fact]
    public async Task OversizedBody_Is413_AndTheLimitIsConfigurable()
    {
        await using var server = await ServerHarness.StartAsync(o => o.MaxRequestBodyBytes = 64 * 1024);
        using var client = server.Client();
        await client.CreateKeyAsync(Keys.KeyName.Parse(Key));
        var big = $$"""{"plaintext":"{{Convert.ToBase64String(new byte[100 * 1024])}}","context":"c"}""";
        using var response = await server.SendAsync(HttpMethod.Post, "/v1/encrypt/" + Key, server.AdminToken, big);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("PayloadTooLarge", problem.RootElement.GetProperty("code").GetString());

        var small = $$"""{"plaintext":"{{Convert.ToBase64String(new byte[10 * 1024])}}","context":"c"}""";
        using var ok = await server.SendAsync(HttpMethod.Post, "/v1/encrypt/" + Key, server.AdminToken, small);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task DefaultLimit_IsOneMebibyte()
    {
        await using var server = await ServerHarness.StartAsync();
        var body = Encoding.UTF8.GetBytes(new string(' ', (1024 * 1024) + 1));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/encrypt/" + Key) { Content = new ByteArrayContent(body) };
        request.Headers.Authorization = new("Bearer", server.AdminToken);
        using var response = await server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task CiphertextUnderAnotherKey_IsRefused_SoScopeCannotBeBypassed()
    {
        await using var server = await ServerHarness.StartAsync();
        using var client = server.Client();
        var other = Keys.KeyName.Parse("tenants/h99/secret");
        await client.CreateKeyAsync(Keys.KeyName.Parse(Key));
        await client.CreateKeyAsync(other);
        var envelope = Envelope.EnvelopeText.Encode(await client.EncryptAsync(other, "s"u8.ToArray(), Envelope.EncryptionContext.From("c")));
        var app = await server.TokenAsync(Rekey.Access.Role.Application, "tenants/h42/*");
        using var response = await server.SendAsync(HttpMethod.Post, "/v1/decrypt/" + Key, app, $$"""{"ciphertext":"{{envelope}}","context":"c"}""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.DoesNotContain("\"plaintext\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static async Task<(string Keys, long AuditCount)> SnapshotAsync(ServerHarness server)
    {
        var service = server.Host.Service;
        var keys = new StringBuilder();
        foreach (var key in await service.ListKeysAsync())
        {
            keys.Append(key).Append(';');
            foreach (var v in await service.ListVersionsAsync(key.Name))
            {
                keys.Append(v with { EncryptCount = 0, DecryptCount = 0 }).Append(';');
            }
        }

        var events = await service.ReadAuditAsync(0, 100_000);
        return (keys.ToString(), events.Count);
    }
}
