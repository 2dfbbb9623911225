using Rekey.Access;
using Rekey.Errors;
using Rekey.Keys;

namespace Rekey.Lifecycle.Tests;

/// <summary>Setting policies: what is refused (and that nothing changes), and how patterns merge.</summary>
public sealed class PolicyTests
{
    private static readonly KeyName Key = KeyName.Parse("tenants/a/records");

    public static TheoryData<string, LifecyclePolicy, string> BadPolicies => new()
    {
        { "tenants/*", new LifecyclePolicy { Cron = "61 * * * *" }, "cron '61 * * * *' is not valid" },
        { "tenants/*", new LifecyclePolicy { Cron = "0 3 * * *", TimeZone = "Mars/Olympus" }, "not a known time zone" },
        { "tenants/*", new LifecyclePolicy { RotateEvery = TimeSpan.Zero }, "rotate_every must be more than zero" },
        { "tenants/*", new LifecyclePolicy { RotateEvery = TimeSpan.FromMinutes(5) }, "under the minimum of 1h" },
        { "tenants/*", new LifecyclePolicy { PendingFor = TimeSpan.Zero }, "pending must be more than zero" },
        { "tenants/*", new LifecyclePolicy { MaxEncryptions = 0 }, "max_encryptions must be at least 1" },
        { "tenants/*", new LifecyclePolicy { KeepVersions = 0 }, "keep_versions must be at least 1" },
        { "tenants/*", new LifecyclePolicy { RewrapRowsPerSecond = -1 }, "cannot be negative" },
        { "tenants/*", new LifecyclePolicy { RewrapWindow = "1am-5am" }, "not HH:mm-HH:mm" },
        { "tenants/*", new LifecyclePolicy { RotateBeforeExpiry = TimeSpan.FromDays(1) }, "needs version_lifetime" },
        { "tenants/*", new LifecyclePolicy { VersionLifetime = TimeSpan.FromDays(1), RotateBeforeExpiry = TimeSpan.FromDays(2) }, "shorter than version_lifetime" },
        { "tenants/*", new LifecyclePolicy { Destroy = true }, "destroy needs a retention rule" },
        { "tenants/*", new LifecyclePolicy { Destroy = true, KeepVersions = 2 }, "destroy needs a retention rule" },
        { "tenants/*", new LifecyclePolicy { RewrapContextForm = "json" }, "neither text nor pairs" },
        { "tenants/*", new LifecyclePolicy { RewrapContextTemplate = "id", RewrapContextForm = "pairs" }, "not a name=value pair" },
        { "billing/*", new LifecyclePolicy { RotateEvery = TimeSpan.FromDays(90) }, "matches no key" },
        { "tenants/b/records", new LifecyclePolicy { RotateEvery = TimeSpan.FromDays(90) }, "matches no key" },
    };

    [Theory]
    [MemberData(nameof(BadPolicies))]
    public async Task BadPolicies_AreRefusedWithTheReason_AndChangeNothing(string pattern, LifecyclePolicy policy, string expected)
    {
        await using var h = await LifecycleHarness.CreateAsync(postgres: false);
        await h.Service.CreateKeyAsync(Key);
        var before = (await h.Service.ReadAuditAsync()).Count;

        var e = await Assert.ThrowsAsync<RekeyException>(() => h.Policies.SetAsync(KeyPattern.Parse(pattern), policy, LifecycleHarness.Officer));
        Assert.Equal(RekeyErrorCode.InvalidRequest, e.Code);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Empty(await h.Policies.ListAsync());
        Assert.Equal(before, (await h.Service.ReadAuditAsync()).Count);
    }

    [Fact]
    public async Task TheDevMinimum_AcceptsSecondScalePeriods()
    {
        await using var h = await LifecycleHarness.CreateAsync(postgres: false);
        h.Options.MinimumPeriod = TimeSpan.FromSeconds(1);
        await h.Service.CreateKeyAsync(Key);
        await h.Policies.SetAsync(KeyPattern.Parse("tenants/*"), new LifecyclePolicy { RotateEvery = TimeSpan.FromSeconds(30) }, LifecycleHarness.Officer);
        await h.AdvanceAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2, (await h.Service.GetKeyAsync(Key)).ActiveVersion);
    }

    [Fact]
    public async Task EffectivePolicy_TakesEachFieldFromTheMostSpecificPattern_AndSaysWhere()
    {
        await using var h = await LifecycleHarness.CreateAsync(postgres: false);
        await h.Service.CreateKeyAsync(Key);
        await h.Service.CreateKeyAsync(KeyName.Parse("other"));
        await h.Policies.SetAsync(KeyPattern.All, new LifecyclePolicy { RotateEvery = TimeSpan.FromDays(365), RetainFor = TimeSpan.FromDays(30) }, LifecycleHarness.Officer);
        await h.Policies.SetAsync(KeyPattern.Parse("tenants/*"), new LifecyclePolicy { RotateEvery = TimeSpan.FromDays(90) }, LifecycleHarness.Officer);
        await h.Policies.SetAsync(KeyPattern.Parse("tenants/a/*"), new LifecyclePolicy { MaxEncryptions = 1000 }, LifecycleHarness.Officer);
        await h.Policies.SetAsync(KeyPattern.Parse(Key.Value), new LifecyclePolicy { RetainFor = TimeSpan.FromDays(7) }, LifecycleHarness.Officer);

        var effective = await h.Policies.GetEffectiveAsync(Key);
        Assert.Equal(TimeSpan.FromDays(90), effective.Policy.RotateEvery);
        Assert.Equal(TimeSpan.FromDays(7), effective.Policy.RetainFor);
        Assert.Equal(1000, effective.Policy.MaxEncryptions);
        Assert.Equal("tenants/*", effective.Sources["rotate_every_seconds"]);
        Assert.Equal(Key.Value, effective.Sources["retain_seconds"]);
        Assert.Equal("tenants/a/*", effective.Sources["max_encryptions"]);

        var other = await h.Policies.GetEffectiveAsync(KeyName.Parse("other"));
        Assert.Equal(TimeSpan.FromDays(365), other.Policy.RotateEvery);
        Assert.Equal("*", other.Sources["rotate_every_seconds"]);

        // Removing a policy takes its fields away and is audited.
        await h.Policies.UnsetAsync(KeyPattern.Parse("tenants/*"), LifecycleHarness.Officer);
        Assert.Equal("*", (await h.Policies.GetEffectiveAsync(Key)).Sources["rotate_every_seconds"]);
        Assert.Single(await h.EventsAsync("policy.unset"));
        Assert.Equal(4, (await h.EventsAsync("policy.set")).Count);
        var missing = await Assert.ThrowsAsync<RekeyException>(() => h.Policies.UnsetAsync(KeyPattern.Parse("tenants/*"), LifecycleHarness.Officer));
        Assert.Equal(RekeyErrorCode.PolicyNotFound, missing.Code);
    }
}
