using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Rekey.Access;
using Rekey.Errors;
using Rekey.Root;
using Rekey.Server.Access;
using Rekey.Server.Surfaces;
using Rekey.Storage;
using Rekey.Storage.Sqlite;

namespace Rekey.Server.Tests;

/// <summary>
/// A second API surface reads its token from its own header and writes its own error shape,
/// through the same policy table, the same token checks and the same audit as <c>/v1</c>.
/// </summary>
public sealed class ApiSurfaceTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rekey-surface-").FullName;
    private SqliteKeyStore _store = null!;

    public async Task InitializeAsync() => _store = await SqliteKeyStore.OpenAsync(Path.Combine(_dir, "rekey.db"), changePollInterval: TimeSpan.Zero);

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task VaultSurface_ReadsItsHeaders_AndAnswersErrorsInItsShape_UnderTheSamePolicyAndAudit()
    {
        var (_, officer) = await TokenIssuer.IssueAsync(_store, "officer", new HashSet<Role> { Role.KeyOfficer }, [KeyPattern.All], null, new ChangeContext("test"), TimeProvider.System);
        var (_, app) = await TokenIssuer.IssueAsync(_store, "app", new HashSet<Role> { Role.Application }, [KeyPattern.Parse("tenants/*")], null, new ChangeContext("test"), TimeProvider.System);
        var vault = VaultSurface.Instance;

        // Vault's header carries the token, and so does a bearer header (Vault accepts both);
        // without one, Vault's clients expect 403 and {"errors":[...]}, not 401 and a problem document.
        var (ok, _) = await RunAsync(vault, "tenants/h42/notes", ("X-Vault-Token", app));
        Assert.Equal(StatusCodes.Status200OK, ok);
        Assert.Equal(StatusCodes.Status200OK, (await RunAsync(vault, "tenants/h42/notes", ("Authorization", "Bearer " + app))).Status);
        var (unauthenticated, body) = await RunAsync(vault, "tenants/h42/notes", ("X-Other", app));
        Assert.Equal(StatusCodes.Status403Forbidden, unauthenticated);
        Assert.Contains("A valid token is required", JsonDocument.Parse(body).RootElement.GetProperty("errors")[0].GetString(), StringComparison.Ordinal);

        // The policy table decides as for /v1: a key officer may not encrypt, an app only in its scope.
        var (forbidden, refusal) = await RunAsync(vault, "tenants/h42/notes", ("X-Vault-Token", officer));
        Assert.Equal(StatusCodes.Status403Forbidden, forbidden);
        Assert.Equal(JsonValueKind.Array, JsonDocument.Parse(refusal).RootElement.GetProperty("errors").ValueKind);
        Assert.Equal(StatusCodes.Status403Forbidden, (await RunAsync(vault, "billing/x", ("X-Vault-Token", app))).Status);

        // /v1 on the same endpoint: bearer token, problem document.
        var (v1, problem) = await RunAsync(V1Surface.Instance, "tenants/h42/notes", ("X-Vault-Token", app));
        Assert.Equal(StatusCodes.Status401Unauthorized, v1);
        Assert.Equal("Unauthenticated", JsonDocument.Parse(problem).RootElement.GetProperty("code").GetString());
        Assert.Equal(StatusCodes.Status200OK, (await RunAsync(V1Surface.Instance, "tenants/h42/notes", ("Authorization", "Bearer " + app))).Status);

        // Every refusal went to the same audit log, whichever surface answered.
        var refused = (await _store.ReadAuditAsync(0, 100)).Where(e => e.Record.Outcome.StartsWith("refused:", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, refused.Count);
        Assert.All(refused, e => Assert.Equal(EndpointNames.Encrypt, e.Record.Action));
    }

    private async Task<(int Status, string Body)> RunAsync(ApiSurface surface, string key, (string Name, string Value) header)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.Path = "/v1/encrypt/" + key;
        context.Request.RouteValues["name"] = key;
        context.Request.Headers[header.Name] = header.Value;
        context.Response.Body = new MemoryStream();
        var endpoint = new Endpoint(_ => Task.CompletedTask, new EndpointMetadataCollection(new EndpointNameMetadata(EndpointNames.Encrypt), surface), "encrypt");
        context.SetEndpoint(endpoint);
        using var refusals = new RefusalLimiter(1000);
        var middleware = new AccessMiddleware(
            ctx =>
            {
                ctx.Response.StatusCode = StatusCodes.Status200OK;
                return Task.CompletedTask;
            },
            new TokenAuthenticator(_store, TimeProvider.System, TimeSpan.Zero),
            _store,
            _store,
            refusals,
            TimeProvider.System);
        await middleware.InvokeAsync(context);
        context.Response.Body.Position = 0;
        return (context.Response.StatusCode, await new StreamReader(context.Response.Body).ReadToEndAsync());
    }
}
