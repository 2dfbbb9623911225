using System.Net;
using System.Text.Json;
using Rekey.Access;
using Rekey.Server.Access;

namespace Rekey.Server.Tests;

/// <summary>
/// Every role x every endpoint x in-scope / out-of-scope, against an expected table written out
/// here independently of the server's policy table: the test is the specification.
/// </summary>
public sealed class RbacMatrixTests
{
    private const string A = "admin";
    private const string K = "key-officer";
    private const string O = "operator";
    private const string P = "application";
    private const string U = "auditor";
    private const string V = "approver";

    /// <summary>Who may call each endpoint, and whether its scope is a key, global, or neither.</summary>
    private static readonly Dictionary<string, (string[] Roles, Scope Scope)> Expected = new(StringComparer.Ordinal)
    {
        [EndpointNames.KeyCreate] = ([A, K], Scope.Key),
        [EndpointNames.KeyList] = ([A, K, O, U], Scope.None),
        [EndpointNames.KeyRead] = ([A, K, O, U], Scope.Key),
        [EndpointNames.KeyUpdate] = ([A, K], Scope.Key),
        [EndpointNames.KeyDelete] = ([A, K], Scope.Key),
        [EndpointNames.Rotate] = ([A, K, O], Scope.Key),
        [EndpointNames.Activate] = ([A, K, O], Scope.Key),
        [EndpointNames.ImportToken] = ([A, K], Scope.Key),
        [EndpointNames.Metrics] = ([A, O, U], Scope.Global),
        [EndpointNames.Report] = ([A, U], Scope.None),
        [EndpointNames.Import] = ([A, K], Scope.Key),
        [EndpointNames.Disable] = ([A, K], Scope.Key),
        [EndpointNames.Enable] = ([A, K], Scope.Key),
        [EndpointNames.Retire] = ([A, K], Scope.Key),
        [EndpointNames.ScheduleDestroy] = ([A, K], Scope.Key),
        [EndpointNames.CancelDestroy] = ([A, K], Scope.Key),
        [EndpointNames.Destroy] = ([A, K], Scope.Key),
        [EndpointNames.Encrypt] = ([A, P], Scope.Key),
        [EndpointNames.Decrypt] = ([A, P], Scope.Key),
        [EndpointNames.Rewrap] = ([A, P, O], Scope.Key),
        [EndpointNames.DataKey] = ([A, P], Scope.Key),
        [EndpointNames.FileUnwrap] = ([A, P], Scope.Key),
        [EndpointNames.FileRewrap] = ([A, P, O], Scope.Key),
        [EndpointNames.AuditEvents] = ([A, U], Scope.None),
        [EndpointNames.AuditVerify] = ([A, U], Scope.Global),
        [EndpointNames.AuditCheckpoints] = ([A, U], Scope.Global),
        [EndpointNames.AuditCheckpointCreate] = ([A, U], Scope.Global),
        [EndpointNames.AuditPublicKeys] = ([A, U], Scope.Global),
        [EndpointNames.AuditSigningKeyRotate] = ([A], Scope.Global),
        [EndpointNames.TokenCreate] = ([A], Scope.Global),
        [EndpointNames.TokenList] = ([A], Scope.Global),
        [EndpointNames.TokenRevoke] = ([A], Scope.Global),
        [EndpointNames.TokenSelf] = ([A, K, O, P, U, V], Scope.None),
        [EndpointNames.JobStart] = ([A, K, O], Scope.Key),
        [EndpointNames.JobList] = ([A, K, O, U], Scope.None),
        [EndpointNames.JobRead] = ([A, K, O, U], Scope.Key),
        [EndpointNames.JobPause] = ([A, K, O], Scope.Key),
        [EndpointNames.JobResume] = ([A, K, O], Scope.Key),
        [EndpointNames.JobCancel] = ([A, K, O], Scope.Key),
        [EndpointNames.JobFailures] = ([A, K, O, U], Scope.Key),
        [EndpointNames.Inventory] = ([A, K, O, U], Scope.Key),
        [EndpointNames.SourceRegister] = ([A, K], Scope.Global),
        [EndpointNames.SourceList] = ([A, K, O, U], Scope.None),
        [EndpointNames.SourceRead] = ([A, K, O, U], Scope.None),
        [EndpointNames.SourceRemove] = ([A, K], Scope.Global),
        [EndpointNames.PolicyList] = ([A, K, O, U], Scope.None),
        [EndpointNames.PolicySet] = ([A, K], Scope.Key),
        [EndpointNames.PolicyUnset] = ([A, K], Scope.Key),
        [EndpointNames.PolicyEffective] = ([A, K, O, U], Scope.Key),
        [EndpointNames.RotationList] = ([A, K, O, U], Scope.None),
        [EndpointNames.RotationRead] = ([A, K, O, U], Scope.None),
        [EndpointNames.RotationRetry] = ([A, K, O], Scope.None),
        [EndpointNames.ApprovalList] = ([A, K, O, U, V], Scope.None),
        [EndpointNames.ApprovalRead] = ([A, K, O, U, V], Scope.None),
        [EndpointNames.ApprovalApprove] = ([V], Scope.None),
        [EndpointNames.ApprovalDeny] = ([V], Scope.None),
        [EndpointNames.TransitKeyCreate] = ([A, K], Scope.Key),
        [EndpointNames.TransitKeyRead] = ([A, K, O, U], Scope.Key),
        [EndpointNames.TransitKeyList] = ([A, K, O, U], Scope.None),
        [EndpointNames.TransitKeyDelete] = ([A, K], Scope.Key),
        [EndpointNames.TransitKeyConfig] = ([A, K], Scope.Key),
        [EndpointNames.TransitKeyRotate] = ([A, K, O], Scope.Key),
        [EndpointNames.TransitKeyTrim] = ([A, K], Scope.Key),
        [EndpointNames.TransitEncrypt] = ([A, P], Scope.Key),
        [EndpointNames.TransitDecrypt] = ([A, P], Scope.Key),
        [EndpointNames.TransitRewrap] = ([A, P, O], Scope.Key),
        [EndpointNames.TransitDataKey] = ([A, P], Scope.Key),
        [EndpointNames.VaultMountList] = ([A, K, O, P, U, V], Scope.None),
        [EndpointNames.VaultMountEnable] = ([A, K, O, P, U, V], Scope.None),
    };

    private static readonly string[] Public = [EndpointNames.Health, EndpointNames.Ready, EndpointNames.OpenApi, EndpointNames.Version, EndpointNames.VaultHealth];

    private enum Scope
    {
        None,
        Key,
        Global,
    }

    [Fact]
    public void ExpectedTable_CoversEveryEndpoint()
    {
        Assert.Equal(EndpointPolicy.Rules.Keys.Order(StringComparer.Ordinal), Expected.Keys.Concat(Public).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task EveryRole_EveryEndpoint_InAndOutOfScope()
    {
        await using var server = await ServerHarness.StartAsync();
        var scoped = new Dictionary<string, string>();
        var global = new Dictionary<string, string>();
        foreach (var role in new[] { A, K, O, P, U, V })
        {
            Api.RoleNames.TryParse(role, out var r);
            scoped[role] = await server.TokenAsync(r!.Value, "tenants/h42/*");
            global[role] = await server.TokenAsync(r.Value, "*");
        }

        var failures = new List<string>();
        var cell = 0;
        foreach (var (endpoint, (roles, scope)) in Expected)
        {
            foreach (var role in new[] { A, K, O, P, U, V })
            {
                foreach (var inScope in new[] { true, false })
                {
                    cell++;
                    var tenant = scope == Scope.Key && !inScope ? "h99" : "h42";
                    var token = scope == Scope.Global ? (inScope ? global[role] : scoped[role]) : scoped[role];
                    if (IsVault(endpoint))
                    {
                        // Transit's key names are one path segment, so its tokens name keys exactly.
                        Api.RoleNames.TryParse(role, out var vaultRole);
                        token = await server.TokenAsync(vaultRole!.Value, $"h42-k{cell}");
                    }

                    var request = await PrepareAsync(server, endpoint, $"tenants/{tenant}/k{cell}");
                    using var response = await server.SendAsync(request.Method, request.Path, token, request.Body);
                    var allowed = roles.Contains(role) && (scope == Scope.None || inScope);
                    var status = (int)response.StatusCode;
                    if (allowed && status is 401 or 403)
                    {
                        failures.Add($"{endpoint} as {role} ({(inScope ? "in" : "out of")} scope): expected allowed, got {status} {await response.Content.ReadAsStringAsync()}");
                    }
                    else if (!allowed && status != 403)
                    {
                        failures.Add($"{endpoint} as {role} ({(inScope ? "in" : "out of")} scope): expected 403, got {status}");
                    }
                    else if (!allowed)
                    {
                        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                        if (IsVault(endpoint))
                        {
                            Assert.Contains("do not", problem.RootElement.GetProperty("errors")[0].GetString(), StringComparison.Ordinal);
                        }
                        else
                        {
                            Assert.Equal("Forbidden", problem.RootElement.GetProperty("code").GetString());
                        }
                    }
                    else if (status >= 500)
                    {
                        failures.Add($"{endpoint} as {role}: server error {status}");
                    }
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.Equal(Expected.Count * 12, cell);
    }

    [Fact]
    public async Task NoToken_OrAForgedOne_Is401OnEveryProtectedEndpoint_AndPublicOnesAnswer()
    {
        await using var server = await ServerHarness.StartAsync();
        var forged = "rkt_0123456789abcdef_" + new string('A', 43);
        var real = await server.TokenAsync(Role.Admin, "*");
        var tampered = real[..^2] + (real[^2] == 'A' ? "BB" : "AA");
        var cell = 0;
        foreach (var endpoint in Expected.Keys)
        {
            var request = await PrepareAsync(server, endpoint, $"tenants/h42/n{cell++}");
            foreach (var token in new[] { null, forged, tampered, "not-a-token" })
            {
                using var response = await server.SendAsync(request.Method, request.Path, token, request.Body);
                if (IsVault(endpoint))
                {
                    // Vault's clients expect 403 and {"errors":[...]} for a missing or bad token.
                    Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{endpoint} with token '{token}': {(int)response.StatusCode}");
                    using var errors = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                    Assert.StartsWith("A valid token is required", errors.RootElement.GetProperty("errors")[0].GetString(), StringComparison.Ordinal);
                    continue;
                }

                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{endpoint} with token '{token}': {(int)response.StatusCode}");
                Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
            }
        }

        foreach (var path in new[] { "/healthz", "/readyz", "/openapi/v1.json", "/v1/sys/version", "/v1/sys/health" })
        {
            using var response = await server.Http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public async Task DeniedCalls_AreAudited_WithTheTokenIdAndNeverTheSecret()
    {
        await using var server = await ServerHarness.StartAsync();
        var app = await server.TokenAsync(Role.Application, "tenants/h42/*");
        using (await server.SendAsync(HttpMethod.Post, "/v1/rotate/tenants/h42/x", app)) { }
        using (await server.SendAsync(HttpMethod.Post, "/v1/encrypt/tenants/h99/x", app, """{"plaintext":"","context":"c"}""")) { }
        using (await server.SendAsync(HttpMethod.Get, "/v1/keys/tenants/h42/x", null)) { }

        var events = await server.Host.Service.ReadAuditAsync();
        var refused = events.Where(e => e.Record.Outcome.StartsWith("refused:", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, refused.Count);
        var id = app.Split('_')[1];
        Assert.Equal(["versions.rotate", "crypto.encrypt", "keys.read"], refused.Select(e => e.Record.Action));
        Assert.Equal([id, id, "anonymous"], refused.Select(e => e.Record.Actor));
        Assert.Equal(["refused:Forbidden", "refused:Forbidden", "refused:Unauthenticated"], refused.Select(e => e.Record.Outcome));
        Assert.All(refused, e => Assert.False(string.IsNullOrEmpty(e.Record.RequestId)));
        Assert.All(refused, e => Assert.Equal("127.0.0.1", e.Record.Client));
        Assert.All(events, e => Assert.DoesNotContain(app.Split('_', 3)[2], e.Record.ToString(), StringComparison.Ordinal));
    }

    // The Vault-compatible surface: its own error shape, and key names of one path segment.
    private static bool IsVault(string endpoint) => endpoint.StartsWith("transit.", StringComparison.Ordinal) || endpoint.StartsWith("vault.", StringComparison.Ordinal);

    private static async Task<(HttpMethod Method, string Path, string? Body)> PrepareAsync(ServerHarness server, string endpoint, string key)
    {
        if (IsVault(endpoint))
        {
            key = key.Replace("tenants/", string.Empty, StringComparison.Ordinal).Replace('/', '-');
        }

        // The admin sets up whatever the call acts on, so an allowed call fails, if at all, on state, never on access.
        async Task<string> KeyWithCiphertextAsync()
        {
            using var client = server.Client();
            var name = Keys.KeyName.Parse(key);
            await client.CreateKeyAsync(name, new KeyCreateOptions(DeletionAllowed: true));
            var envelope = await client.EncryptAsync(name, "x"u8.ToArray(), Envelope.EncryptionContext.From("c"));
            return IsVault(endpoint) ? Envelope.VaultCiphertext.Encode(envelope) : Envelope.EnvelopeText.Encode(envelope);
        }

        var ciphertext = endpoint is EndpointNames.KeyCreate or EndpointNames.TransitKeyCreate ? null : await KeyWithCiphertextAsync();
        string tokenId = string.Empty;
        var sourceName = key.Replace('/', '-');
        if (endpoint is not EndpointNames.SourceRegister)
        {
            await server.RegisterSourceAsync(sourceName);
        }

        var jobBody = $$"""{"source":"{{sourceName}}"}""";
        string jobId = string.Empty;
        if (endpoint is EndpointNames.JobRead or EndpointNames.JobPause or EndpointNames.JobResume or EndpointNames.JobCancel or EndpointNames.JobFailures)
        {
            using var created = await server.SendAsync(HttpMethod.Post, "/v1/jobs/rewrap/" + key, server.AdminToken, jobBody);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            using var job = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
            jobId = job.RootElement.GetProperty("id").GetString()!;
        }

        var rotationId = string.Empty;
        if (endpoint is EndpointNames.RotationRead or EndpointNames.RotationRetry)
        {
            using (await server.SendAsync(HttpMethod.Post, "/v1/rotate/" + key, server.AdminToken, "{}")) { }
            using var listed = await server.SendAsync(HttpMethod.Get, "/v1/rotations?key=" + key, server.AdminToken);
            using var rotations = JsonDocument.Parse(await listed.Content.ReadAsStringAsync());
            rotationId = rotations.RootElement.GetProperty("rotations")[0].GetProperty("id").GetString()!;
        }

        if (endpoint == EndpointNames.TokenRevoke)
        {
            var (token, _) = await server.Host.IssueTokenAsync("victim", new HashSet<Role> { Role.Auditor }, [KeyPattern.All]);
            tokenId = token.Id;
        }

        return endpoint switch
        {
            EndpointNames.KeyCreate => (HttpMethod.Post, "/v1/keys/" + key, "{}"),
            EndpointNames.KeyList => (HttpMethod.Get, "/v1/keys", null),
            EndpointNames.KeyRead => (HttpMethod.Get, "/v1/keys/" + key, null),
            EndpointNames.KeyUpdate => (HttpMethod.Patch, "/v1/keys/" + key, """{"deletion_allowed":true}"""),
            EndpointNames.KeyDelete => (HttpMethod.Delete, "/v1/keys/" + key, null),
            EndpointNames.Rotate => (HttpMethod.Post, "/v1/rotate/" + key, "{}"),
            EndpointNames.Activate => (HttpMethod.Post, "/v1/activate/" + key, """{"version":1}"""),
            EndpointNames.ImportToken => (HttpMethod.Post, "/v1/import-token/" + key, "{}"),
            EndpointNames.Metrics => (HttpMethod.Get, "/metrics", null),
            EndpointNames.Report => (HttpMethod.Get, "/v1/report?pattern=" + key, null),
            EndpointNames.Import => (HttpMethod.Post, "/v1/import/" + key, """{"token":"imp_none","wrapped_material":"AAAA"}"""),
            EndpointNames.Disable => (HttpMethod.Post, "/v1/disable/" + key, """{"version":1}"""),
            EndpointNames.Enable => (HttpMethod.Post, "/v1/enable/" + key, """{"version":1}"""),
            EndpointNames.Retire => (HttpMethod.Post, "/v1/retire/" + key, """{"version":1}"""),
            EndpointNames.ScheduleDestroy => (HttpMethod.Post, "/v1/schedule-destroy/" + key, """{"version":1}"""),
            EndpointNames.CancelDestroy => (HttpMethod.Post, "/v1/cancel-destroy/" + key, """{"version":1}"""),
            EndpointNames.Destroy => (HttpMethod.Post, "/v1/destroy/" + key, """{"version":1}"""),
            EndpointNames.Encrypt => (HttpMethod.Post, "/v1/encrypt/" + key, """{"plaintext":"aGk=","context":"c"}"""),
            EndpointNames.Decrypt => (HttpMethod.Post, "/v1/decrypt/" + key, $$"""{"ciphertext":"{{ciphertext}}","context":"c"}"""),
            EndpointNames.Rewrap => (HttpMethod.Post, "/v1/rewrap/" + key, $$"""{"ciphertext":"{{ciphertext}}"}"""),
            EndpointNames.DataKey => (HttpMethod.Post, "/v1/datakey/" + key, """{"context":"c"}"""),
            EndpointNames.AuditEvents => (HttpMethod.Get, "/v1/audit/events", null),
            EndpointNames.AuditVerify => (HttpMethod.Get, "/v1/audit/verify", null),
            EndpointNames.AuditCheckpoints => (HttpMethod.Get, "/v1/audit/checkpoints", null),
            EndpointNames.AuditCheckpointCreate => (HttpMethod.Post, "/v1/audit/checkpoints", null),
            EndpointNames.AuditPublicKeys => (HttpMethod.Get, "/v1/audit/public-keys", null),
            EndpointNames.AuditSigningKeyRotate => (HttpMethod.Post, "/v1/audit/signing-keys/rotate", null),
            EndpointNames.TokenCreate => (HttpMethod.Post, "/v1/tokens", """{"name":"n","roles":["auditor"],"key_patterns":["*"]}"""),
            EndpointNames.TokenList => (HttpMethod.Get, "/v1/tokens", null),
            EndpointNames.TokenRevoke => (HttpMethod.Delete, "/v1/tokens/" + tokenId, null),
            EndpointNames.TokenSelf => (HttpMethod.Get, "/v1/tokens/self", null),
            EndpointNames.JobStart => (HttpMethod.Post, "/v1/jobs/rewrap/" + key, jobBody),
            EndpointNames.JobList => (HttpMethod.Get, "/v1/jobs", null),
            EndpointNames.JobRead => (HttpMethod.Get, "/v1/jobs/" + jobId, null),
            EndpointNames.JobPause => (HttpMethod.Post, "/v1/jobs/" + jobId + "/pause", null),
            EndpointNames.JobResume => (HttpMethod.Post, "/v1/jobs/" + jobId + "/resume", null),
            EndpointNames.JobCancel => (HttpMethod.Post, "/v1/jobs/" + jobId + "/cancel", null),
            EndpointNames.JobFailures => (HttpMethod.Get, "/v1/jobs/" + jobId + "/failures", null),
            EndpointNames.Inventory => (HttpMethod.Get, "/v1/inventory/" + key, null),
            EndpointNames.SourceRegister => (HttpMethod.Post, "/v1/sources", $$"""{"name":"{{sourceName}}","kind":"sqlite","connection":"{{server.SourceTable()}}","table":"patients","columns":[{"name":"ssn"}],"keys":["*"]}"""),
            EndpointNames.SourceList => (HttpMethod.Get, "/v1/sources", null),
            EndpointNames.SourceRead => (HttpMethod.Get, "/v1/sources/" + sourceName, null),
            EndpointNames.SourceRemove => (HttpMethod.Delete, "/v1/sources/" + sourceName, null),
            EndpointNames.PolicyList => (HttpMethod.Get, "/v1/policies", null),
            EndpointNames.PolicySet => (HttpMethod.Put, "/v1/policies", $$$"""{"pattern":"{{{key}}}","policy":{"rotate_every_seconds":7776000}}"""),
            EndpointNames.PolicyUnset => (HttpMethod.Delete, "/v1/policies?pattern=" + key, null),
            EndpointNames.PolicyEffective => (HttpMethod.Get, "/v1/policies/effective/" + key, null),
            EndpointNames.RotationList => (HttpMethod.Get, "/v1/rotations", null),
            EndpointNames.RotationRead => (HttpMethod.Get, "/v1/rotations/" + rotationId, null),
            EndpointNames.RotationRetry => (HttpMethod.Post, "/v1/rotations/" + rotationId + "/retry", null),
            EndpointNames.FileUnwrap => (HttpMethod.Post, "/v1/files/unwrap/" + key, """{"header":"AAAA","context":"c"}"""),
            EndpointNames.FileRewrap => (HttpMethod.Post, "/v1/files/rewrap/" + key, """{"header":"AAAA"}"""),
            EndpointNames.ApprovalList => (HttpMethod.Get, "/v1/approvals", null),
            EndpointNames.ApprovalRead => (HttpMethod.Get, "/v1/approvals/apr_none", null),
            EndpointNames.ApprovalApprove => (HttpMethod.Post, "/v1/approvals/apr_none/approve", "{}"),
            EndpointNames.ApprovalDeny => (HttpMethod.Post, "/v1/approvals/apr_none/deny", "{}"),
            EndpointNames.TransitKeyCreate => (HttpMethod.Post, "/v1/transit/keys/" + key, "{}"),
            EndpointNames.TransitKeyRead => (HttpMethod.Get, "/v1/transit/keys/" + key, null),
            EndpointNames.TransitKeyList => (new HttpMethod("LIST"), "/v1/transit/keys", null),
            EndpointNames.TransitKeyDelete => (HttpMethod.Delete, "/v1/transit/keys/" + key, null),
            EndpointNames.TransitKeyConfig => (HttpMethod.Post, "/v1/transit/keys/" + key + "/config", """{"deletion_allowed":true}"""),
            EndpointNames.TransitKeyRotate => (HttpMethod.Post, "/v1/transit/keys/" + key + "/rotate", null),
            EndpointNames.TransitKeyTrim => (HttpMethod.Post, "/v1/transit/keys/" + key + "/trim", """{"min_available_version":1}"""),
            EndpointNames.TransitEncrypt => (HttpMethod.Post, "/v1/transit/encrypt/" + key, """{"plaintext":"aGk="}"""),
            EndpointNames.TransitDecrypt => (HttpMethod.Post, "/v1/transit/decrypt/" + key, $$"""{"ciphertext":"{{ciphertext}}","associated_data":"Yw=="}"""),
            EndpointNames.TransitRewrap => (HttpMethod.Post, "/v1/transit/rewrap/" + key, $$"""{"ciphertext":"{{ciphertext}}"}"""),
            EndpointNames.TransitDataKey => (HttpMethod.Post, "/v1/transit/datakey/plaintext/" + key, "{}"),
            EndpointNames.VaultMountList => (HttpMethod.Get, "/v1/sys/mounts", null),
            EndpointNames.VaultMountEnable => (HttpMethod.Post, "/v1/sys/mounts/transit", """{"type":"transit"}"""),
            _ => throw new InvalidOperationException("No request for " + endpoint),
        };
    }
}
