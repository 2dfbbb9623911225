using Rekey.Access;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Rewrap;

namespace Rekey.Lifecycle.Tests;

/// <summary>Retention rules, the inventory gate, automatic re-wrap and rotation records, on a manual clock.</summary>
public abstract class RetentionTests
{
    private static readonly KeyName Key = KeyName.Parse("tenants/a/records");

    protected abstract bool Postgres { get; }

    private static LifecyclePolicy Drain => new()
    {
        RotateEvery = TimeSpan.FromDays(90),
        UntilReencrypted = true,
        AutoRewrap = true,
        Destroy = true,
        DisabledFor = TimeSpan.FromDays(7),
        RewrapContextTemplate = "item={id}",
    };

    /// <summary>A harness with the key, the items table registered for tenants/*, and <paramref name="items"/> items under version 1.</summary>
    private async Task<LifecycleHarness> WithItemsAsync(int items)
    {
        var h = await LifecycleHarness.CreateAsync(Postgres);
        await h.Service.CreateKeyAsync(Key);
        await h.RegisterAppAsync("tenants/*");
        await h.FillAsync(Key, items);
        return h;
    }

    [Fact]
    public async Task AfterARotation_DataIsRewrappedByItself_AndTheOldVersionRetiredAndDestroyed_EveryStepAudited()
    {
        await using var h = await WithItemsAsync(30);
        await h.Policies.SetAsync(KeyPattern.Parse("tenants/*"), Drain, LifecycleHarness.Officer);

        await h.AdvanceAsync(TimeSpan.FromDays(90));

        // Rotated, re-wrapped by an automatic job, verified by the inventory, complete.
        Assert.All(await h.ItemVersionsAsync(), v => Assert.Equal(2, v));
        var record = Assert.Single(await h.Rotations.ListAsync(Key));
        Assert.Equal(RotationPhase.Complete, record.Phase);
        Assert.Equal("periodic", record.Cause);
        var job = Assert.Single(record.Jobs);
        Assert.Equal(("app", 30L, 0L), (job.Source, job.Rewrapped, job.Failed));
        Assert.Contains("sample", (await h.Jobs.GetStatusAsync(job.JobId)).Verification, StringComparison.Ordinal);
        Assert.Equal(0, record.Remaining["app"]);
        Assert.True(record.PhaseTimes.Keys.ToHashSet().IsSupersetOf(["prepare", "execute", "verify", "complete"]));

        // The old version is Disabled (reversible) at once, destruction scheduled after 7 days,
        // destroyed after the key's destruction delay (24 h).
        var v1 = (await h.Service.ListVersionsAsync(Key))[0];
        Assert.Equal(KeyVersionState.Disabled, v1.State);
        await h.AdvanceAsync(TimeSpan.FromDays(7));
        Assert.Equal(KeyVersionState.DestroyScheduled, (await h.Service.ListVersionsAsync(Key))[0].State);
        await h.AdvanceAsync(TimeSpan.FromHours(24));
        Assert.Equal(KeyVersionState.Destroyed, (await h.Service.ListVersionsAsync(Key))[0].State);

        foreach (var action in new[] { "key.rotate", "rewrap.start", "rewrap.finish", "rotation.execute", "rotation.verify", "rotation.complete", "version.disable", "version.schedule_destroy", "version.destroy" })
        {
            var events = await h.EventsAsync(action);
            Assert.True(events.Count > 0, action + " was not audited");
        }

        Assert.Equal("policy:tenants/*", Assert.Single(await h.EventsAsync("version.destroy")).Record.Actor);
        Assert.Equal("policy:tenants/*", Assert.Single(await h.EventsAsync("rotation.complete")).Record.Actor);
        Assert.True(await h.Service.VerifyAuditAsync(new Audit.AuditVerifyOptions()) is { IsValid: true });
    }

    [Fact]
    public async Task UntilReencrypted_AVersionStillHoldingDataIsNeverRetired()
    {
        await using var h = await WithItemsAsync(10);
        await h.Policies.SetAsync(KeyPattern.Parse("tenants/*"), Drain with { AutoRewrap = false }, LifecycleHarness.Officer);

        await h.AdvanceAsync(TimeSpan.FromDays(90));
        Assert.Equal(2, (await h.Service.GetKeyAsync(Key)).ActiveVersion);
        var record = Assert.Single(await h.Rotations.ListAsync(Key));
        Assert.Equal(RotationPhase.Verify, record.Phase);
        Assert.Contains("not counted since the rotation", record.Note, StringComparison.Ordinal);

        // A year later, nothing counted: version 1 still decrypts, and the effective policy says why.
        await h.AdvanceAsync(TimeSpan.FromDays(80));
        Assert.Equal(KeyVersionState.DecryptOnly, (await h.Service.ListVersionsAsync(Key))[0].State);
        var effective = await h.Policies.GetEffectiveAsync(Key);
        Assert.Contains("has not been counted since version 1 stopped encrypting", effective.Waiting[1], StringComparison.Ordinal);
        Assert.Contains("rotation rot_", effective.LastAction, StringComparison.Ordinal);

        // A job (started by hand) moves everything to the newest version and counts it: released.
        await h.Service.RotateAsync(Key, change: LifecycleHarness.Officer);
        await h.FillAsync(Key, 1);
        await h.Jobs.StartAsync(new RewrapJobDefinition(Key, new SourceDefinition(SourceKind.Sqlite, string.Empty, string.Empty, "id", IdKind.Integer, []), DataSource: "app"), LifecycleHarness.Officer);
        await h.SettleAsync();
        Assert.All(await h.ItemVersionsAsync(), v => Assert.Equal(3, v));
        Assert.Equal(KeyVersionState.Disabled, (await h.Service.ListVersionsAsync(Key))[0].State);
        Assert.Equal(RotationPhase.Complete, (await h.Rotations.ListAsync(Key)).Last().Phase);
    }

    [Fact]
    public async Task Destroy_ByHand_IsRefusedWhileTheInventoryShowsValues_UnlessForcedWithAReason()
    {
        await using var h = await WithItemsAsync(3);
        await h.Service.RotateAsync(Key, change: LifecycleHarness.Officer);
        await h.Service.DisableAsync(Key, 1, LifecycleHarness.Officer);
        await h.Service.ScheduleDestroyAsync(Key, 1, LifecycleHarness.Officer);
        h.Time.Advance(TimeSpan.FromDays(2));

        // Not counted since the rotation.
        var stale = await Assert.ThrowsAsync<RekeyException>(() => h.Service.DestroyAsync(Key, 1, LifecycleHarness.Officer));
        Assert.Equal(RekeyErrorCode.PolicyViolation, stale.Code);
        Assert.Contains("not been counted since version 1 stopped encrypting", stale.Message, StringComparison.Ordinal);

        // Counted, with values under version 1 (version 1 is DestroyScheduled, so the job cannot move them).
        await h.Jobs.StartAsync(new RewrapJobDefinition(Key, new SourceDefinition(SourceKind.Sqlite, string.Empty, string.Empty, "id", IdKind.Integer, []), DataSource: "app"), LifecycleHarness.Officer);
        await h.SettleAsync();
        var held = await Assert.ThrowsAsync<RekeyException>(() => h.Service.DestroyAsync(Key, 1, LifecycleHarness.Officer));
        Assert.Contains("counted 3 values under key 'tenants/a/records' version 1", held.Message, StringComparison.Ordinal);
        Assert.Equal(KeyVersionState.DestroyScheduled, (await h.Service.ListVersionsAsync(Key))[0].State);
        Assert.Equal(2, (await h.EventsAsync("version.destroy")).Count(e => e.Record.Outcome.StartsWith("refused", StringComparison.Ordinal)));

        // Forcing needs a reason.
        var noReason = await Assert.ThrowsAsync<RekeyException>(() => h.Service.DestroyAsync(Key, 1, new DestroyOptions(Force: true), new ChangeContext("officer")));
        Assert.Equal(RekeyErrorCode.InvalidRequest, noReason.Code);

        await h.Service.DestroyAsync(Key, 1, new DestroyOptions(Force: true), new ChangeContext("officer", "INC-1234: data deliberately shredded"));
        Assert.Equal(KeyVersionState.Destroyed, (await h.Service.ListVersionsAsync(Key))[0].State);
        var forced = (await h.EventsAsync("version.destroy")).Single(e => e.Record.Outcome == "success");
        Assert.Contains("forced past the inventory", forced.Record.Details, StringComparison.Ordinal);
        Assert.Equal("INC-1234: data deliberately shredded", forced.Record.Reason);
    }

    [Fact]
    public async Task MinimumRetentionAndKeepLast_HoldVersionsBackByTimeAndByCount()
    {
        await using var h = await LifecycleHarness.CreateAsync(Postgres);
        await h.Service.CreateKeyAsync(Key);
        await h.Policies.SetAsync(KeyPattern.Parse("tenants/*"), new LifecyclePolicy { RotateEvery = TimeSpan.FromDays(10), RetainFor = TimeSpan.FromDays(15), KeepVersions = 3 }, LifecycleHarness.Officer);

        // Versions 2..5 created at days 10, 20, 30, 40.
        for (var i = 0; i < 4; i++)
        {
            await h.AdvanceAsync(TimeSpan.FromDays(10));
        }

        var states = (await h.Service.ListVersionsAsync(Key)).Select(v => v.State).ToList();
        Assert.Equal(5, states.Count);

        // Versions 5, 4 and 3 are kept (the newest three); 1 and 2 are past 15 days of retention.
        Assert.Equal([KeyVersionState.Disabled, KeyVersionState.Disabled, KeyVersionState.DecryptOnly, KeyVersionState.DecryptOnly, KeyVersionState.Active], states);

        // Without destroy in the policy, Disabled is where they stay.
        await h.AdvanceAsync(TimeSpan.FromDays(5));
        Assert.Equal(KeyVersionState.Disabled, (await h.Service.ListVersionsAsync(Key))[0].State);
    }

    [Fact]
    public async Task AFailedRotation_SaysWhatToDo_AndARetryCompletesIt()
    {
        await using var h = await WithItemsAsync(5);
        await h.Policies.SetAsync(KeyPattern.Parse("tenants/*"), Drain, LifecycleHarness.Officer);

        // The table disappears: the job cannot start.
        File.Move(h.AppPath, h.AppPath + ".away");
        await h.AdvanceAsync(TimeSpan.FromDays(90));
        var failed = Assert.Single(await h.Rotations.ListAsync(Key));
        Assert.Equal(RotationPhase.Failed, failed.Phase);
        Assert.Contains("rekey rotation retry " + failed.Id, failed.Note, StringComparison.Ordinal);
        Assert.Equal("policy:tenants/*", Assert.Single(await h.EventsAsync("rotation.failed")).Record.Actor);
        Assert.Equal(KeyVersionState.DecryptOnly, (await h.Service.ListVersionsAsync(Key))[0].State);

        // Retrying while still failing fails again; nothing is lost either way.
        File.Move(h.AppPath + ".away", h.AppPath);
        var retried = await h.Rotations.RetryAsync(failed.Id, LifecycleHarness.Officer);
        Assert.Equal(RotationPhase.Execute, retried.Phase);
        await h.SettleAsync();
        Assert.Equal(RotationPhase.Complete, (await h.Rotations.GetAsync(failed.Id)).Phase);
        Assert.All(await h.ItemVersionsAsync(), v => Assert.Equal(2, v));
        Assert.Single(await h.EventsAsync("rotation.retry"));

        var again = await Assert.ThrowsAsync<RekeyException>(() => h.Rotations.RetryAsync(failed.Id, LifecycleHarness.Officer));
        Assert.Equal(RekeyErrorCode.TransitionNotAllowed, again.Code);
    }

    [Fact]
    public async Task ASampleThatDoesNotDecrypt_FailsTheRotation_AndTheOldVersionStays()
    {
        await using var h = await WithItemsAsync(5);

        // The policy names the wrong context: every value moves (re-wrap needs no context), but
        // the sample decryption fails, so the rotation does not complete.
        await h.Policies.SetAsync(KeyPattern.Parse("tenants/*"), Drain with { RewrapContextTemplate = "record={id}" }, LifecycleHarness.Officer);
        await h.AdvanceAsync(TimeSpan.FromDays(90));

        var record = Assert.Single(await h.Rotations.ListAsync(Key));
        Assert.Equal(RotationPhase.Failed, record.Phase);
        Assert.Contains("failed the sample decryption", record.Note, StringComparison.Ordinal);
        Assert.Equal(KeyVersionState.DecryptOnly, (await h.Service.ListVersionsAsync(Key))[0].State);
    }

    [Fact]
    public async Task AutomaticJobsRunOnlyInTheirWindow()
    {
        await using var h = await WithItemsAsync(5);
        await h.Policies.SetAsync(KeyPattern.Parse("tenants/*"), Drain with { RewrapWindow = "01:00-05:00" }, LifecycleHarness.Officer);

        // Day 90 at 00:00 UTC: rotated, but no job until 01:00.
        await h.AdvanceAsync(TimeSpan.FromDays(90));
        var waiting = Assert.Single(await h.Rotations.ListAsync(Key));
        Assert.Equal(RotationPhase.Execute, waiting.Phase);
        Assert.Empty(waiting.Jobs);
        Assert.All(await h.ItemVersionsAsync(), v => Assert.Equal(1, v));

        await h.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.All(await h.ItemVersionsAsync(), v => Assert.Equal(2, v));
        Assert.Equal(RotationPhase.Complete, (await h.Rotations.ListAsync(Key)).Single().Phase);
    }
}

public sealed class SqliteRetentionTests : RetentionTests
{
    protected override bool Postgres => false;
}

public sealed class PostgresRetentionTests : RetentionTests
{
    protected override bool Postgres => true;
}
