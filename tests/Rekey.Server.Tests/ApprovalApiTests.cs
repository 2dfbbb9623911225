using System.Net;
using System.Text.Json;
using Rekey.Access;
using Rekey.Approvals;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Testing;

namespace Rekey.Server.Tests;

/// <summary>Dual control over HTTP: a held request answers 202 with its approval, approvers decide through /v1/approvals, and racing servers carry it out once.</summary>
public sealed class ApprovalApiTests
{
    private static readonly KeyName Key = KeyName.Parse("tenants/h42/patients");

    [Fact]
    public async Task AHeldDisable_Answers202_AndRunsWhenAnApproverInScopeApproves_NeverByItsRequester()
    {
        await using var server = await ServerHarness.StartAsync(o => o.Approvals = Rule(ApprovalOperations.Disable, ApprovalOperations.Destroy));
        var (officerId, officer) = await server.TokenAsync([Role.KeyOfficer, Role.Approver], "tenants/*");
        var (approverId, approver) = await server.TokenAsync([Role.Approver], "tenants/h42/*");
        var (_, elsewhere) = await server.TokenAsync([Role.Approver], "tenants/h99/*");
        await server.Client().CreateKeyAsync(Key);
        await server.Client().RotateAsync(Key);

        string id;
        using (var held = await server.SendAsync(HttpMethod.Post, "/v1/disable/" + Key, officer, """{"version":1,"reason":"INC-4"}"""))
        {
            Assert.Equal(HttpStatusCode.Accepted, held.StatusCode);
            using var body = JsonDocument.Parse(await held.Content.ReadAsStringAsync());
            id = body.RootElement.GetProperty("id").GetString()!;
            Assert.Equal("/v1/approvals/" + id, held.Headers.Location!.OriginalString);
            Assert.Equal(("pending", officerId, "INC-4", "disable tenants/h42/patients version 1"), (body.RootElement.GetProperty("state").GetString(), body.RootElement.GetProperty("requester").GetString(), body.RootElement.GetProperty("reason").GetString(), body.RootElement.GetProperty("summary").GetString()));
        }

        Assert.Equal(KeyVersionState.DecryptOnly, (await server.Client().ListVersionsAsync(Key))[0].State);

        // The typed client hears the same thing as the library would throw.
        var thrown = await Assert.ThrowsAsync<RekeyException>(() => server.Client(officer).DisableAsync(Key, 1));
        Assert.Equal(RekeyErrorCode.ApprovalPending, thrown.Code);
        Assert.StartsWith("apr_", thrown.ApprovalId, StringComparison.Ordinal);

        using (var own = await server.SendAsync(HttpMethod.Post, $"/v1/approvals/{id}/approve", officer, "{}"))
        {
            Assert.Equal(HttpStatusCode.Conflict, own.StatusCode);
            Assert.Contains("ApprovalRefused", await own.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var outside = await server.SendAsync(HttpMethod.Post, $"/v1/approvals/{id}/approve", elsewhere, "{}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, outside.StatusCode);
        }

        using (var listed = await server.SendAsync(HttpMethod.Get, "/v1/approvals?state=pending", elsewhere))
        {
            Assert.Equal(0, JsonDocument.Parse(await listed.Content.ReadAsStringAsync()).RootElement.GetProperty("approvals").GetArrayLength());
        }

        using (var approved = await server.SendAsync(HttpMethod.Post, $"/v1/approvals/{id}/approve", approver, """{"comment":"ticket checked"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
            using var body = JsonDocument.Parse(await approved.Content.ReadAsStringAsync());
            Assert.Equal("executed", body.RootElement.GetProperty("state").GetString());
            Assert.Equal(approverId, body.RootElement.GetProperty("votes")[0].GetProperty("approver").GetString());
        }

        Assert.Equal(KeyVersionState.Disabled, (await server.Client().ListVersionsAsync(Key))[0].State);
        var disable = Assert.Single(await server.Host.Service.ReadAuditAsync(), e => e.Record.Action == "version.disable").Record;
        Assert.Equal(officerId, disable.Actor);
        Assert.Contains($"approval {id} approved by {approverId}", disable.Details, StringComparison.Ordinal);

        // The auditor's report names who approved the step.
        using var report = await server.SendAsync(HttpMethod.Get, "/v1/report?pattern=" + Key + "&format=markdown", server.AdminToken);
        var text = await report.Content.ReadAsStringAsync();
        Assert.Contains($"| version.disable | {officerId} | {approverId} ({id}) |", text, StringComparison.Ordinal);
        Assert.Contains("| approval.request |", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAdminToken_UnderDualControl_IsIssuedOnlyToItsRequester_OnlyOnceApproved_AndOnce()
    {
        await using var server = await ServerHarness.StartAsync(o => o.Approvals = Rule(ApprovalOperations.AdminToken));
        var (_, approver) = await server.TokenAsync([Role.Approver], "*");
        var (_, otherAdmin) = await server.TokenAsync([Role.Admin], "*");
        const string Ask = """{"name":"night shift","roles":["admin"],"key_patterns":["*"],"ttl_seconds":3600}""";

        string id;
        using (var held = await server.SendAsync(HttpMethod.Post, "/v1/tokens", server.AdminToken, Ask))
        {
            Assert.Equal(HttpStatusCode.Accepted, held.StatusCode);
            id = JsonDocument.Parse(await held.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        }

        var withId = Ask[..^1] + $",\"approval_id\":\"{id}\"}}";
        using (var early = await server.SendAsync(HttpMethod.Post, "/v1/tokens", server.AdminToken, withId))
        {
            Assert.Equal(HttpStatusCode.Conflict, early.StatusCode);
        }

        using (var approved = await server.SendAsync(HttpMethod.Post, $"/v1/approvals/{id}/approve", approver, "{}"))
        {
            Assert.Equal("approved", JsonDocument.Parse(await approved.Content.ReadAsStringAsync()).RootElement.GetProperty("state").GetString());
        }

        using (var stolen = await server.SendAsync(HttpMethod.Post, "/v1/tokens", otherAdmin, withId))
        {
            Assert.Equal(HttpStatusCode.Conflict, stolen.StatusCode);
        }

        using (var altered = await server.SendAsync(HttpMethod.Post, "/v1/tokens", server.AdminToken, withId.Replace("night shift", "day shift", StringComparison.Ordinal)))
        {
            Assert.Equal(HttpStatusCode.Conflict, altered.StatusCode);
        }

        using (var issued = await server.SendAsync(HttpMethod.Post, "/v1/tokens", server.AdminToken, withId))
        {
            Assert.Equal(HttpStatusCode.Created, issued.StatusCode);
            var secret = JsonDocument.Parse(await issued.Content.ReadAsStringAsync()).RootElement.GetProperty("secret").GetString();
            using var self = await server.SendAsync(HttpMethod.Get, "/v1/tokens/self", secret);
            Assert.Equal(HttpStatusCode.OK, self.StatusCode);
        }

        using (var twice = await server.SendAsync(HttpMethod.Post, "/v1/tokens", server.AdminToken, withId))
        {
            Assert.Equal(HttpStatusCode.Conflict, twice.StatusCode);
        }

        // Tokens without the admin or approver role are not held.
        using var plain = await server.SendAsync(HttpMethod.Post, "/v1/tokens", server.AdminToken, """{"name":"app","roles":["application"],"key_patterns":["*"]}""");
        Assert.Equal(HttpStatusCode.Created, plain.StatusCode);
    }

    [Fact]
    public async Task TwoServersOnOnePostgres_ApproversRacingOnEach_CarryTheOperationOutOnce()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var first = await ServerHarness.StartAsync(o => o.Approvals = Rule(ApprovalOperations.Disable), store: database.ConnectionString);
        await using var second = await ServerHarness.StartAsync(o => o.Approvals = Rule(ApprovalOperations.Disable), store: database.ConnectionString, directory: first.Folder);
        var (_, officer) = await first.TokenAsync([Role.KeyOfficer], "*");
        var (_, alice) = await first.TokenAsync([Role.Approver], "*");
        var (_, bob) = await first.TokenAsync([Role.Approver], "*");
        await first.Client().CreateKeyAsync(Key);
        await first.Client().RotateAsync(Key);
        for (var round = 0; round < 4; round++)
        {
            using var held = await first.SendAsync(HttpMethod.Post, "/v1/disable/" + Key, officer, """{"version":1}""");
            Assert.Equal(HttpStatusCode.Accepted, held.StatusCode);
            var id = JsonDocument.Parse(await held.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
            var answers = await Task.WhenAll(
                first.SendAsync(HttpMethod.Post, $"/v1/approvals/{id}/approve", alice, "{}"),
                second.SendAsync(HttpMethod.Post, $"/v1/approvals/{id}/approve", bob, "{}"));
            Assert.Equal([HttpStatusCode.OK, HttpStatusCode.Conflict], answers.Select(a => a.StatusCode).Order());
            foreach (var answer in answers)
            {
                answer.Dispose();
            }

            Assert.Equal(KeyVersionState.Disabled, (await second.Client().ListVersionsAsync(Key))[0].State);
            await second.Client().EnableAsync(Key, 1);
        }

        var events = await first.Host.Service.ReadAuditAsync();
        Assert.Equal(4, events.Count(e => e.Record.Action == "version.disable"));
        Assert.Equal(4, events.Count(e => e.Record.Action == "approval.approve"));
        Assert.True((await first.Host.Service.VerifyAuditAsync()).IsValid);
    }

    private static ApprovalRule Rule(params string[] operations) => new(operations.ToHashSet(StringComparer.Ordinal), 1, TimeSpan.FromHours(1));
}
