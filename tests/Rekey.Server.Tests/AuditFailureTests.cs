using System.Net;
using System.Text.Json;
using Rekey.Access;
using Rekey.Keys;

namespace Rekey.Server.Tests;

/// <summary>When the audit event cannot be written, the request fails with 503 and the change is not applied.</summary>
public sealed class AuditFailureTests
{
    private static readonly KeyName Key = KeyName.Parse("tenants/h42/patients");

    [Fact]
    public async Task AuditWriteFails_ChangeIs503_AndNotApplied_ThenRecovers()
    {
        await using var server = await ServerHarness.StartAsync();
        using var client = server.Client();
        await client.CreateKeyAsync(Key);
        var app = await server.TokenAsync(Role.Application, "tenants/h42/*");
        var eventsBefore = (await server.Host.Service.ReadAuditAsync()).Count;

        // The audit table refuses every insert, as a full disk or a broken replica would.
        server.Sql("CREATE TRIGGER audit_down BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END;");

        foreach (var (method, path, token, body) in new (HttpMethod, string, string, string?)[]
        {
            (HttpMethod.Post, "/v1/rotate/" + Key, server.AdminToken, "{}"),
            (HttpMethod.Post, "/v1/disable/" + Key, server.AdminToken, """{"version":1}"""),
            (HttpMethod.Post, "/v1/keys/tenants/h42/other", server.AdminToken, "{}"),
            (HttpMethod.Patch, "/v1/keys/" + Key, server.AdminToken, """{"deletion_allowed":true}"""),
            (HttpMethod.Post, "/v1/tokens", server.AdminToken, """{"name":"n","roles":["auditor"],"key_patterns":["*"]}"""),
            (HttpMethod.Post, "/v1/rotate/" + Key, app, "{}"), // denied: the refusal cannot be recorded either
        })
        {
            using var response = await server.SendAsync(method, path, token, body);
            Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{method} {path}: {(int)response.StatusCode}");
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("StoreUnavailable", problem.RootElement.GetProperty("code").GetString());
            Assert.DoesNotContain("audit unavailable", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        var versions = await server.Host.Service.ListVersionsAsync(Key);
        Assert.Equal([(1, KeyVersionState.Active)], versions.Select(v => (v.Version, v.State)));
        Assert.Single(await server.Host.Service.ListKeysAsync());
        Assert.False((await server.Host.Service.GetKeyAsync(Key)).DeletionAllowed);

        // Reads and the data plane do not write audit events and keep working.
        var envelope = await client.EncryptAsync(Key, "x"u8.ToArray(), Envelope.EncryptionContext.From("c"));
        Assert.Equal("x"u8.ToArray(), await client.DecryptAsync(Key, envelope, Envelope.EncryptionContext.From("c")));

        server.Sql("DROP TRIGGER audit_down;");
        Assert.Equal(2, (await client.RotateAsync(Key)).Version);
        Assert.Equal(eventsBefore + 1, (await server.Host.Service.ReadAuditAsync()).Count);
        Assert.True((await client.VerifyAuditAsync()).IsValid);
    }

    [Fact]
    public async Task ReadyZ_Reports503_WhenTheStoreIsGone()
    {
        await using var server = await ServerHarness.StartAsync();
        using (var ok = await server.Http.GetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        server.Sql("DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete; ALTER TABLE audit_events RENAME TO audit_events_gone;");
        using var gone = await server.Http.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, gone.StatusCode);
        using var alive = await server.Http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
    }
}
