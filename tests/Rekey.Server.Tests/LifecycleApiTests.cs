using System.Net;
using System.Text.Json;
using Rekey.Keys;

namespace Rekey.Server.Tests;

/// <summary>Policies and rotation records over HTTP, and the scheduler running in the server on the real clock.</summary>
public sealed class LifecycleApiTests
{
    [Fact]
    public async Task TheServersScheduler_RotatesAKeyByItself_AndTheRecordIsVisible()
    {
        await using var server = await ServerHarness.StartAsync(o =>
        {
            o.Lifecycle.MinimumPeriod = TimeSpan.FromSeconds(1);
            o.SchedulerInterval = TimeSpan.FromMilliseconds(200);
        });
        using (var created = await server.SendAsync(HttpMethod.Post, "/v1/keys/tenants/h1/k", server.AdminToken, "{}"))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        using (var set = await server.SendAsync(HttpMethod.Put, "/v1/policies", server.AdminToken, """{"pattern":"tenants/*","policy":{"rotate_every_seconds":2},"reason":"CHG-7"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        var deadline = DateTime.UtcNow.AddSeconds(20);
        JsonElement rotations;
        do
        {
            await Task.Delay(250);
            using var listed = await server.SendAsync(HttpMethod.Get, "/v1/rotations?key=tenants/h1/k", server.AdminToken);
            rotations = JsonDocument.Parse(await listed.Content.ReadAsStringAsync()).RootElement.GetProperty("rotations").Clone();
        }
        while (rotations.GetArrayLength() == 0 && DateTime.UtcNow < deadline);

        var record = rotations[0];
        Assert.Equal("periodic", record.GetProperty("cause").GetString());
        Assert.Equal(2, record.GetProperty("to_version").GetInt32());
        var key = await server.Client().GetKeyAsync(KeyName.Parse("tenants/h1/k"));
        Assert.True(key.ActiveVersion >= 2);

        using var effective = await server.SendAsync(HttpMethod.Get, "/v1/policies/effective/tenants/h1/k", server.AdminToken);
        using var body = JsonDocument.Parse(await effective.Content.ReadAsStringAsync());
        Assert.Equal("tenants/*", body.RootElement.GetProperty("sources").GetProperty("rotate_every_seconds").GetString());
        Assert.Equal(2, body.RootElement.GetProperty("policy").GetProperty("rotate_every_seconds").GetInt32());

        var events = await server.Host.Service.ReadAuditAsync();
        Assert.Contains(events, e => e.Record.Action == "policy.set" && e.Record.Reason == "CHG-7");
        Assert.Contains(events, e => e.Record.Action == "key.rotate" && e.Record.Actor == "policy:tenants/*");
    }

    [Theory]
    [InlineData("""{"pattern":"tenants/*","policy":{"rotate_evry_seconds":7776000}}""", "rotate_evry_seconds")]
    [InlineData("""{"pattern":"tenants/*","policy":{"rotate_every_seconds":-5}}""", "at $.policy.rotate_every_seconds")]
    [InlineData("""{"pattern":"tenants/*","policy":{"rotate_every_seconds":60}}""", "under the minimum of 1h")]
    [InlineData("""{"pattern":"tenants/*","policy":{"cron":"every day"}}""", "is not valid")]
    [InlineData("""{"pattern":"tenants/h*","policy":{"rotate_every_seconds":7776000}}""", "must be an exact key name")]
    [InlineData("""{"pattern":"nothing/*","policy":{"rotate_every_seconds":7776000}}""", "matches no key")]
    [InlineData("""{"pattern":"tenants/*"}""", "policy\\u0027 is required")]
    public async Task BadPolicies_Are400_AndStoreNothing(string body, string expected)
    {
        await using var server = await ServerHarness.StartAsync();
        using (await server.SendAsync(HttpMethod.Post, "/v1/keys/tenants/h1/k", server.AdminToken, "{}")) { }

        using var response = await server.SendAsync(HttpMethod.Put, "/v1/policies", server.AdminToken, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("InvalidRequest", text, StringComparison.Ordinal);
        Assert.Contains(expected, text, StringComparison.Ordinal);

        using var list = await server.SendAsync(HttpMethod.Get, "/v1/policies", server.AdminToken);
        Assert.Equal(0, JsonDocument.Parse(await list.Content.ReadAsStringAsync()).RootElement.GetProperty("policies").GetArrayLength());
    }

    [Fact]
    public async Task AScopedOfficer_CannotSetAPolicyWiderThanTheirPatterns()
    {
        await using var server = await ServerHarness.StartAsync();
        using (await server.SendAsync(HttpMethod.Post, "/v1/keys/tenants/h1/k", server.AdminToken, "{}")) { }
        var officer = await server.TokenAsync(Rekey.Access.Role.KeyOfficer, "tenants/h1/*");

        using var wide = await server.SendAsync(HttpMethod.Put, "/v1/policies", officer, """{"pattern":"tenants/*","policy":{"rotate_every_seconds":7776000}}""");
        Assert.Equal(HttpStatusCode.Forbidden, wide.StatusCode);
        using var own = await server.SendAsync(HttpMethod.Put, "/v1/policies", officer, """{"pattern":"tenants/h1/*","policy":{"rotate_every_seconds":7776000}}""");
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        using var unsetWide = await server.SendAsync(HttpMethod.Delete, "/v1/policies?pattern=*", officer);
        Assert.Equal(HttpStatusCode.Forbidden, unsetWide.StatusCode);
        using var unset = await server.SendAsync(HttpMethod.Delete, "/v1/policies?pattern=tenants/h1/*", officer);
        Assert.Equal(HttpStatusCode.NoContent, unset.StatusCode);
        using var again = await server.SendAsync(HttpMethod.Delete, "/v1/policies?pattern=tenants/h1/*", officer);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    [Fact]
    public async Task ForcedDestroyOverTheApi_NeedsAReason()
    {
        await using var server = await ServerHarness.StartAsync();
        var client = server.Client();
        var name = KeyName.Parse("tenants/h1/k");
        await client.CreateKeyAsync(name, new KeyCreateOptions(DestructionDelay: TimeSpan.Zero));
        await server.RegisterSourceAsync("app");
        await client.RotateAsync(name);
        await client.DisableAsync(name, 1);
        await client.ScheduleDestroyAsync(name, 1);

        // The registered source has not been counted since the rotation.
        var refused = await Assert.ThrowsAsync<Errors.RekeyException>(() => client.DestroyAsync(name, 1));
        Assert.Equal(Errors.RekeyErrorCode.PolicyViolation, refused.Code);
        var noReason = await Assert.ThrowsAsync<Errors.RekeyException>(() => client.DestroyAsync(name, 1, new DestroyOptions(Force: true)));
        Assert.Equal(Errors.RekeyErrorCode.InvalidRequest, noReason.Code);
        var destroyed = await client.DestroyAsync(name, 1, new DestroyOptions(Force: true), new ChangeContext("ignored", "INC-9"));
        Assert.Equal(KeyVersionState.Destroyed, destroyed.State);
    }
}
