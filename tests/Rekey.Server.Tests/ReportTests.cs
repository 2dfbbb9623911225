using System.Net;
using System.Text.Json;
using Rekey.Access;
using Rekey.Envelope;
using Rekey.Keys;

namespace Rekey.Server.Tests;

/// <summary>
/// The compliance report for a key that went through rotate, re-wrap, retire and destroy: it
/// answers who did what and when, what the inventory showed when the old version was destroyed,
/// and whether the audit log verifies, without any other tool.
/// </summary>
public sealed class ReportTests
{
    private static readonly KeyName Key = KeyName.Parse("tenants/h42/patients");

    [Fact]
    public async Task AKeyThroughRotateRewrapRetireAndDestroy_IsReportedWithItsHistoryAndTheEvidence()
    {
        await using var server = await ServerHarness.StartAsync();
        using var client = server.Client();
        await client.CreateKeyAsync(Key, new KeyCreateOptions(TimeSpan.Zero));
        await client.CreateKeyAsync(KeyName.Parse("tenants/h43/patients"));
        await server.SeedSourceRowsAsync(client, Key, 5);
        var source = await server.RegisterSourceAsync(keys: "tenants/h42/*");
        await client.RotateAsync(Key, change: new ChangeContext("test", "quarterly rotation"));
        using (var created = await server.SendAsync(HttpMethod.Post, "/v1/jobs/rewrap/" + Key, server.AdminToken, $$"""{"source":"{{source}}","context_template":"id={id}"}"""))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            string? state;
            do
            {
                await Task.Delay(100);
                using var status = await server.SendAsync(HttpMethod.Get, "/v1/jobs/" + id, server.AdminToken);
                state = JsonDocument.Parse(await status.Content.ReadAsStringAsync()).RootElement.GetProperty("state").GetString();
            }
            while (state != "Completed" && DateTime.UtcNow < deadline);
            Assert.Equal("Completed", state);
        }

        await client.RetireAsync(Key, 1, TimeSpan.Zero, new ChangeContext("test", "grace over"));
        await client.DisableAsync(Key, 1);
        await client.ScheduleDestroyAsync(Key, 1);
        await client.DestroyAsync(Key, 1, new DestroyOptions(), new ChangeContext("test", "CHG-1234"));
        Assert.NotNull(await client.CheckpointAuditAsync());

        var auditor = await server.TokenAsync(Role.Auditor, "tenants/h42/*");
        using var json = await server.SendAsync(HttpMethod.Get, "/v1/report?pattern=tenants/*&format=json", auditor);
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        var report = JsonDocument.Parse(await json.Content.ReadAsStringAsync()).RootElement;

        // The auditor's token covers one of the two keys: the report holds that one.
        var key = Assert.Single(report.GetProperty("keys").EnumerateArray());
        Assert.Equal(Key.Value, key.GetProperty("name").GetString());
        Assert.True(report.GetProperty("audit").GetProperty("valid").GetBoolean());
        Assert.NotEqual(JsonValueKind.Null, report.GetProperty("audit").GetProperty("latest_checkpoint").ValueKind);
        Assert.Equal("manual", key.GetProperty("last_rotation").GetProperty("cause").GetString());

        var v1 = key.GetProperty("versions")[0];
        Assert.Equal("Destroyed", v1.GetProperty("state").GetString());
        Assert.Contains($"{source} counted 0 values under version 1", v1.GetProperty("destruction_evidence").GetString(), StringComparison.Ordinal);
        var steps = v1.GetProperty("history").EnumerateArray().Select(h => (Action: h.GetProperty("action").GetString(), Reason: h.GetProperty("reason").GetString())).ToList();
        string[] lifecycle = ["key.create", "key.rotate", "version.retire", "version.disable", "version.schedule_destroy", "version.destroy"];
        Assert.Equal(lifecycle, steps.Select(s => s.Action).Where(a => lifecycle.Contains(a)));
        Assert.Equal("CHG-1234", steps.Last(s => s.Action == "version.destroy").Reason);
        Assert.Equal(5, key.GetProperty("versions")[1].GetProperty("inventory")[0].GetProperty("count").GetInt64());

        using var html = await server.SendAsync(HttpMethod.Get, "/v1/report?format=html", server.AdminToken);
        Assert.Equal("text/html; charset=utf-8", html.Content.Headers.ContentType!.ToString());
        var page = await html.Content.ReadAsStringAsync();
        Assert.StartsWith("<!DOCTYPE html>", page, StringComparison.Ordinal);
        Assert.Contains("counted 0 values under version 1", page, StringComparison.Ordinal);
        Assert.Contains("tenants/h43/patients", page, StringComparison.Ordinal);

        using var markdown = await server.SendAsync(HttpMethod.Get, "/v1/report?format=markdown&pattern=" + Key, server.AdminToken);
        Assert.Contains("| version.destroy |", await markdown.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var wrong = await server.SendAsync(HttpMethod.Get, "/v1/report?format=pdf", server.AdminToken);
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
    }
}
