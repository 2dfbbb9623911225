using Rekey.Access;
using Rekey.Errors;
using Rekey.Keys;

namespace Rekey.Lifecycle.Tests;

/// <summary>Rotation triggers, staged activation and leases, on a manual clock, on both stores.</summary>
public abstract class SchedulerTests
{
    private static readonly KeyName Key = KeyName.Parse("tenants/a/records");

    protected abstract bool Postgres { get; }

    [Fact]
    public async Task Periodic_RotatesWhenTheCryptoperiodEnds_OnceOnly_AuditedAsThePolicy()
    {
        await using var h = await LifecycleHarness.CreateAsync(Postgres);
        await h.Service.CreateKeyAsync(Key);
        await h.Policies.SetAsync(KeyPattern.Parse("tenants/*"), new LifecyclePolicy { RotateEvery = TimeSpan.FromDays(90) }, LifecycleHarness.Officer);

        await h.AdvanceAsync(TimeSpan.FromDays(90) - TimeSpan.FromSeconds(1));
        Assert.Equal(1, (await h.Service.GetKeyAsync(Key)).ActiveVersion);

        await h.AdvanceAsync(TimeSpan.FromSeconds(1));
        await h.SettleAsync();
        await h.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.Equal(2, (await h.Service.GetKeyAsync(Key)).ActiveVersion);
        var rotation = Assert.Single(await h.EventsAsync("key.rotate"));
        Assert.Equal("policy:tenants/*", rotation.Record.Actor);
        Assert.Contains("cause periodic", rotation.Record.Details, StringComparison.Ordinal);
        Assert.DoesNotContain("late", rotation.Record.Details, StringComparison.Ordinal);

        // The next period counts from the new version's activation.
        await h.AdvanceAsync(TimeSpan.FromDays(88));
        Assert.Equal(2, (await h.Service.GetKeyAsync(Key)).ActiveVersion);
        await h.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.Equal(3, (await h.Service.GetKeyAsync(Key)).ActiveVersion);
    }

    [Fact]
    public async Task AfterALongStop_AKeyMissedThreeTimesRotatesOnce_AndTheAuditSaysHowLate()
    {
        await using var h = await LifecycleHarness.CreateAsync(Postgres);
        await h.Service.CreateKeyAsync(Key);
        await h.Policies.SetAsync(KeyPattern.Parse(Key.Value), new LifecyclePolicy { RotateEvery = TimeSpan.FromDays(30) }, LifecycleHarness.Officer);
        await h.SettleAsync();

        await h.AdvanceAsync(TimeSpan.FromDays(100));
        Assert.Equal(2, (await h.Service.GetKeyAsync(Key)).ActiveVersion);
        var rotation = Assert.Single(await h.EventsAsync("key.rotate"));
        Assert.Contains("late by 70d", rotation.Record.Details, StringComparison.Ordinal);
        Assert.Equal("policy:" + Key.Value, rotation.Record.Actor);
    }

    [Fact]
    public async Task Cron_FiresAtTheNextOccurrenceInItsTimeZone()
    {
        await using var h = await LifecycleHarness.CreateAsync(Postgres);
        await h.Service.CreateKeyAsync(Key); // 2026-01-01 00:00 UTC = 09:00 in Tokyo
        await h.Policies.SetAsync(KeyPattern.Parse("tenants/*"), new LifecyclePolicy { Cron = "0 3 * * *", TimeZone = "Asia/Tokyo" }, LifecycleHarness.Officer);

        // 03:00 in Tokyo is 18:00 UTC.
        await h.AdvanceAsync(TimeSpan.FromHours(18) - TimeSpan.FromMinutes(1));
        Assert.Equal(1, (await h.Service.GetKeyAsync(Key)).ActiveVersion);
        await h.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(2, (await h.Service.GetKeyAsync(Key)).ActiveVersion);
        Assert.Contains("cause cron", Assert.Single(await h.EventsAsync("key.rotate")).Record.Details, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BeforeExpiry_RotatesTheLeadTimeBeforeTheVersionExpires()
    {
        await using var h = await LifecycleHarness.CreateAsync(Postgres);
        await h.Service.CreateKeyAsync(Key);
        await h.Policies.SetAsync(KeyPattern.Parse("tenants/*"), new LifecyclePolicy { VersionLifetime = TimeSpan.FromDays(30), RotateBeforeExpiry = TimeSpan.FromDays(7) }, LifecycleHarness.Officer);

        await h.AdvanceAsync(TimeSpan.FromDays(23) - TimeSpan.FromSeconds(1));
        Assert.Equal(1, (await h.Service.GetKeyAsync(Key)).ActiveVersion);
        await h.AdvanceAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(2, (await h.Service.GetKeyAsync(Key)).ActiveVersion);
        Assert.Contains("cause expiry", Assert.Single(await h.EventsAsync("key.rotate")).Record.Details, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Usage_RotatesOnceTheActiveVersionHasEncryptedTheLimit()
    {
        await using var h = await LifecycleHarness.CreateAsync(Postgres);
        await h.Service.CreateKeyAsync(Key);
        await h.Policies.SetAsync(KeyPattern.Parse("tenants/*"), new LifecyclePolicy { MaxEncryptions = 5 }, LifecycleHarness.Officer);
        for (var i = 0; i < 4; i++)
        {
            await h.Service.EncryptAsync(Key, "x"u8.ToArray(), Envelope.EncryptionContext.From("c"));
        }

        await h.Service.FlushUsageAsync();
        await h.AdvanceAsync(h.Options.RecheckInterval);
        Assert.Equal(1, (await h.Service.GetKeyAsync(Key)).ActiveVersion);

        await h.Service.EncryptAsync(Key, "x"u8.ToArray(), Envelope.EncryptionContext.From("c"));
        await h.Service.FlushUsageAsync();
        await h.AdvanceAsync(h.Options.RecheckInterval);
        Assert.Equal(2, (await h.Service.GetKeyAsync(Key)).ActiveVersion);
        Assert.Contains("encrypted 5 times, limit 5", Assert.Single(await h.EventsAsync("key.rotate")).Record.Details, StringComparison.Ordinal);

        // The new version starts its own count.
        await h.AdvanceAsync(h.Options.RecheckInterval);
        Assert.Equal(2, (await h.Service.GetKeyAsync(Key)).ActiveVersion);
    }

    [Fact]
    public async Task StagedActivation_TheNewVersionWaitsPendingForThePropagationDelay()
    {
        await using var h = await LifecycleHarness.CreateAsync(Postgres);
        await h.Service.CreateKeyAsync(Key);
        await h.Policies.SetAsync(KeyPattern.Parse("tenants/*"), new LifecyclePolicy { RotateEvery = TimeSpan.FromDays(90), PendingFor = TimeSpan.FromHours(1) }, LifecycleHarness.Officer);

        await h.AdvanceAsync(TimeSpan.FromDays(90));
        var versions = await h.Service.ListVersionsAsync(Key);
        Assert.Equal(KeyVersionState.Pending, versions[1].State);
        Assert.Equal(KeyVersionState.Active, versions[0].State);
        Assert.Equal("prepare", (await h.Rotations.ListAsync(Key)).Single().Phase.ToString().ToLowerInvariant());

        await h.AdvanceAsync(TimeSpan.FromMinutes(59));
        Assert.Equal(1, (await h.Service.GetKeyAsync(Key)).ActiveVersion);
        await h.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(2, (await h.Service.GetKeyAsync(Key)).ActiveVersion);
        Assert.Equal("policy:tenants/*", Assert.Single(await h.EventsAsync("version.activate")).Record.Actor);
        Assert.Equal(RotationPhase.Complete, (await h.Rotations.ListAsync(Key)).Single().Phase);
    }

    [Fact]
    public async Task TwoSchedulersOnOneStore_RotateADueKeyExactlyOnce()
    {
        await using var h = await LifecycleHarness.CreateAsync(Postgres);
        var keys = Enumerable.Range(0, 20).Select(i => KeyName.Parse($"tenants/t{i}/k")).ToList();
        foreach (var key in keys)
        {
            await h.Service.CreateKeyAsync(key);
        }

        await h.Policies.SetAsync(KeyPattern.Parse("tenants/*"), new LifecyclePolicy { RotateEvery = TimeSpan.FromDays(1) }, LifecycleHarness.Officer);
        await h.SettleAsync();
        h.Time.Advance(TimeSpan.FromDays(1));
        var other = h.NewScheduler("instance-b");
        for (var round = 0; round < 5; round++)
        {
            await Task.WhenAll(Task.Run(() => h.Scheduler.TickAsync()), Task.Run(() => other.TickAsync()));
        }

        foreach (var key in keys)
        {
            Assert.Equal(2, (await h.Service.GetKeyAsync(key)).LatestVersion);
        }

        Assert.Equal(keys.Count, (await h.EventsAsync("key.rotate")).Count);
    }

    [Fact]
    public async Task ALeaseHeldByADeadInstance_IsTakenOverWhenItLapses()
    {
        await using var h = await LifecycleHarness.CreateAsync(Postgres);
        await h.Service.CreateKeyAsync(Key);
        await h.Policies.SetAsync(KeyPattern.Parse("tenants/*"), new LifecyclePolicy { RotateEvery = TimeSpan.FromDays(1) }, LifecycleHarness.Officer);
        await h.SettleAsync();
        h.Time.Advance(TimeSpan.FromDays(1));

        // Another instance took the key and died holding it.
        Assert.NotNull(await h.Lifecycle.TryLeaseKeyAsync(Key, "dead", h.Time.GetUtcNow(), h.Time.GetUtcNow() + h.Options.LeaseDuration));
        Assert.Equal(0, await h.Scheduler.TickAsync());
        Assert.Equal(1, (await h.Service.GetKeyAsync(Key)).ActiveVersion);

        await h.AdvanceAsync(h.Options.LeaseDuration + TimeSpan.FromSeconds(1));
        Assert.Equal(2, (await h.Service.GetKeyAsync(Key)).ActiveVersion);
    }

    [Fact]
    public async Task AManualRotation_HasARecord_AndMovesTheScheduleOn()
    {
        await using var h = await LifecycleHarness.CreateAsync(Postgres);
        await h.Service.CreateKeyAsync(Key);
        await h.Policies.SetAsync(KeyPattern.Parse("tenants/*"), new LifecyclePolicy { RotateEvery = TimeSpan.FromDays(10) }, LifecycleHarness.Officer);
        await h.AdvanceAsync(TimeSpan.FromDays(5));
        await h.Service.RotateAsync(Key, change: LifecycleHarness.Officer);
        await h.SettleAsync();

        var record = Assert.Single(await h.Rotations.ListAsync(Key));
        Assert.Equal("manual", record.Cause);
        Assert.Equal(RotationPhase.Complete, record.Phase);
        Assert.Equal(h.Time.GetUtcNow() + TimeSpan.FromDays(10), (await h.Policies.GetEffectiveAsync(Key)).NextDue);

        await h.AdvanceAsync(TimeSpan.FromDays(6));
        Assert.Equal(2, (await h.Service.GetKeyAsync(Key)).ActiveVersion);
    }

    [Fact]
    public async Task AKeyWithoutAPolicy_IsNeverDue()
    {
        await using var h = await LifecycleHarness.CreateAsync(Postgres);
        await h.Service.CreateKeyAsync(Key);
        await h.SettleAsync();
        Assert.Null((await h.Policies.GetEffectiveAsync(Key)).NextDue);
        Assert.Empty(await h.Lifecycle.GetDueKeysAsync(h.Time.GetUtcNow() + TimeSpan.FromDays(10_000), 10));
    }
}

public sealed class SqliteSchedulerTests : SchedulerTests
{
    protected override bool Postgres => false;
}

public sealed class PostgresSchedulerTests : SchedulerTests
{
    protected override bool Postgres => true;
}
