using System.Net;
using System.Text.Json;
using Rekey.Access;
using Rekey.Api;
using Rekey.Errors;
using Rekey.Testing;

namespace Rekey.Server.Tests;

public sealed class TokenTests
{
    [Fact]
    public async Task IssuedToken_Works_ListsWithoutSecret_AndStopsAtOnceWhenRevoked()
    {
        await using var server = await ServerHarness.StartAsync();
        using var admin = server.Client();
        var created = await admin.CreateTokenAsync(new TokenCreateRequest("billing", ["application"], ["tenants/h42/*"], 3600));
        Assert.StartsWith("rkt_" + created.Token.Id + "_", created.Secret, StringComparison.Ordinal);

        using var app = server.Client(created.Secret);
        var self = await app.GetSelfAsync();
        Assert.Equal(created.Token.Id, self.Id);
        Assert.Equal(["application"], self.Roles);

        using var list = await server.SendAsync(HttpMethod.Get, "/v1/tokens", server.AdminToken);
        var text = await list.Content.ReadAsStringAsync();
        Assert.Contains(created.Token.Id, text, StringComparison.Ordinal);
        Assert.DoesNotContain(created.Secret.Split('_', 3)[2], text, StringComparison.Ordinal);
        Assert.DoesNotContain("hash", text, StringComparison.OrdinalIgnoreCase);

        await admin.RevokeTokenAsync(created.Token.Id);
        var e = await Assert.ThrowsAsync<RekeyException>(() => app.GetSelfAsync());
        Assert.Equal(RekeyErrorCode.Unauthenticated, e.Code);

        var again = await Assert.ThrowsAsync<RekeyException>(() => admin.RevokeTokenAsync(created.Token.Id));
        Assert.Equal(RekeyErrorCode.Conflict, again.Code);

        var events = await server.Host.Service.ReadAuditAsync();
        Assert.Contains(events, ev => ev.Record.Action == "token.create" && ev.Record.Details!.Contains(created.Token.Id, StringComparison.Ordinal));
        Assert.Contains(events, ev => ev.Record.Action == "token.revoke" && ev.Record.Details!.Contains(created.Token.Id, StringComparison.Ordinal));
        Assert.All(events, ev => Assert.DoesNotContain(created.Secret, ev.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task ExpiredToken_Is401()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await ServerHarness.StartAsync(o => o.TokenCacheTtl = TimeSpan.Zero, time: time);
        var (_, secret) = await server.Host.IssueTokenAsync("short", new HashSet<Role> { Role.Auditor }, [KeyPattern.All], TimeSpan.FromMinutes(5));
        using (var ok = await server.SendAsync(HttpMethod.Get, "/v1/tokens/self", secret))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        time.Advance(TimeSpan.FromMinutes(5));
        using var expired = await server.SendAsync(HttpMethod.Get, "/v1/tokens/self", secret);
        Assert.Equal(HttpStatusCode.Unauthorized, expired.StatusCode);
    }

    [Fact]
    public async Task ScopedAdmin_CannotManageTokens()
    {
        await using var server = await ServerHarness.StartAsync();
        var scopedAdmin = await server.TokenAsync(Role.Admin, "tenants/h42/*");
        using var response = await server.SendAsync(HttpMethod.Post, "/v1/tokens", scopedAdmin, """{"name":"escalate","roles":["admin"],"key_patterns":["*"]}""");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Forbidden", problem.RootElement.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Listings_AreFilteredToTheTokensScope()
    {
        await using var server = await ServerHarness.StartAsync();
        using var admin = server.Client();
        await admin.CreateKeyAsync(Keys.KeyName.Parse("tenants/h42/a"));
        await admin.CreateKeyAsync(Keys.KeyName.Parse("tenants/h43/b"));
        var auditor = await server.TokenAsync(Role.Auditor, "tenants/h42/*");
        using var scoped = server.Client(auditor);
        Assert.Equal(["tenants/h42/a"], (await scoped.ListKeysAsync()).Select(k => k.Name.Value));
        var events = await scoped.ReadAuditAsync();
        Assert.NotEmpty(events);
        Assert.All(events, e => Assert.Equal("tenants/h42/a", e.Record.Key));
    }
}
