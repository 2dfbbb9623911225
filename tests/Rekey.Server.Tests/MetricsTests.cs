using System.Net;
using System.Text.RegularExpressions;
using Rekey.Access;
using Rekey.Envelope;
using Rekey.Keys;

namespace Rekey.Server.Tests;

/// <summary><c>/metrics</c>: Prometheus text with the documented names and types, sensible values after a journey, bounded labels, and a token to read it.</summary>
public sealed partial class MetricsTests
{
    [Fact]
    public async Task AfterAJourney_MetricsShowRequestsCryptoVersionsAndCheckpoints_WithBoundedKeyLabels()
    {
        await using var server = await ServerHarness.StartAsync(o => o.MetricsKeyPatterns = ["payments/*"]);
        using var client = server.Client();
        var context = EncryptionContext.From("id=1");
        var payments = KeyName.Parse("payments/cards");
        await client.CreateKeyAsync(payments);
        for (var i = 0; i < 40; i++)
        {
            var tenant = KeyName.Parse($"tenants/t{i}/k");
            await client.CreateKeyAsync(tenant);
            await client.EncryptAsync(tenant, "x"u8.ToArray(), context);
        }

        var envelope = await client.EncryptAsync(payments, "x"u8.ToArray(), context);
        await client.RotateAsync(payments);
        await client.DecryptAsync(payments, envelope, context);
        await client.EncryptAsync(payments, "x"u8.ToArray(), context);
        Assert.NotNull(await client.CheckpointAuditAsync());

        var text = await ScrapeAsync(server, server.AdminToken);
        Assert.Contains("# TYPE rekey_crypto_operations_total counter", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE rekey_http_request_duration_seconds histogram", text, StringComparison.Ordinal);

        // Forty tenant keys make one series; the key matching metrics_key_patterns has its own, by version.
        Assert.Equal(40, Value(text, """rekey_crypto_operations_total{operation="encrypt",key="tenants/*",version="all"}"""));
        Assert.Equal(1, Value(text, """rekey_crypto_operations_total{operation="encrypt",key="payments/cards",version="1"}"""));
        Assert.Equal(1, Value(text, """rekey_crypto_operations_total{operation="encrypt",key="payments/cards",version="2"}"""));
        Assert.Equal(1, Value(text, """rekey_crypto_operations_total{operation="decrypt",key="payments/cards",version="1"}"""));
        Assert.DoesNotContain("tenants/t1", text, StringComparison.Ordinal);

        Assert.Equal(41, Value(text, """rekey_key_versions{state="Active"}"""));
        Assert.Equal(1, Value(text, """rekey_key_versions{state="DecryptOnly"}"""));
        Assert.Equal(41, Value(text, """rekey_http_request_duration_seconds_count{route="keys.create",method="POST",code="201"}"""));
        Assert.InRange(Value(text, "rekey_audit_checkpoint_age_seconds"), 0, 60);
        Assert.InRange(Value(text, """rekey_key_active_version_age_seconds{key="payments/cards"}"""), 0, 60);
        Assert.InRange(Value(text, "rekey_keys_active_version_age_max_seconds"), 0, 120);
        Assert.InRange(Value(text, "rekey_scheduler_lag_seconds"), 0, 60);
        Assert.InRange(Value(text, "rekey_keys_active_version_encryptions_max"), 0, 3);

        // A second scrape sees the rotation's demotion as it is now, not as it was.
        await client.DisableAsync(payments, 1);
        var again = await ScrapeAsync(server, server.AdminToken);
        Assert.Equal(1, Value(again, """rekey_key_versions{state="Disabled"}"""));
        Assert.DoesNotContain("""rekey_key_versions{state="DecryptOnly"}""", again, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_ShowEachKeysCryptoperiod_AndApprovalsWaiting()
    {
        await using var server = await ServerHarness.StartAsync(o =>
        {
            o.MetricsKeyPatterns = ["payments/*"];
            o.Approvals = new Approvals.ApprovalRule(new HashSet<string>(StringComparer.Ordinal) { Approvals.ApprovalOperations.Disable }, 1, TimeSpan.FromHours(1));
        });
        using var client = server.Client();
        var payments = KeyName.Parse("payments/cards");
        await client.CreateKeyAsync(payments);
        await client.CreateKeyAsync(KeyName.Parse("tenants/t1/k"));
        using (var set = await server.SendAsync(HttpMethod.Put, "/v1/policies", server.AdminToken, """{"pattern":"payments/*","policy":{"rotate_every_seconds":7776000}}"""))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        await client.RotateAsync(payments);
        var held = await Assert.ThrowsAsync<Errors.RekeyException>(() => client.DisableAsync(payments, 1));
        Assert.Equal(Errors.RekeyErrorCode.ApprovalPending, held.Code);

        var text = await ScrapeAsync(server, server.AdminToken);
        Assert.Equal(1, Value(text, "rekey_approvals_pending"));
        Assert.InRange(Value(text, "rekey_approval_oldest_pending_age_seconds"), 0, 60);
        Assert.Equal(7776000, Value(text, """rekey_key_cryptoperiod_seconds{key="payments/cards"}"""));
        Assert.InRange(Value(text, """rekey_key_next_rotation_seconds{key="payments/cards"}"""), 7776000 - 120, 7776000);
        Assert.InRange(Value(text, "rekey_keys_cryptoperiod_used_ratio_max"), 0, 0.001);
        Assert.DoesNotContain("rekey_key_cryptoperiod_seconds{key=\"tenants", text, StringComparison.Ordinal);

        // No data source holds the key, so its rotation was complete at once: no open rotation to age.
        Assert.DoesNotContain("rekey_rotation_oldest_open_age_seconds ", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_NeedAnOperatorAuditorOrAdminToken()
    {
        await using var server = await ServerHarness.StartAsync();
        using (var anonymous = await server.SendAsync(HttpMethod.Get, "/metrics", null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        using (var application = await server.SendAsync(HttpMethod.Get, "/metrics", await server.TokenAsync(Role.Application, "*")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, application.StatusCode);
        }

        Assert.Contains("rekey_http_request_duration_seconds", await ScrapeAsync(server, await server.TokenAsync(Role.Operator, "*")), StringComparison.Ordinal);
    }

    private static async Task<string> ScrapeAsync(ServerHarness server, string token)
    {
        using var response = await server.SendAsync(HttpMethod.Get, "/metrics", token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private static double Value(string text, string series)
    {
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return double.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        throw new Xunit.Sdk.XunitException($"No series {series} in:\n{text}");
    }
}
