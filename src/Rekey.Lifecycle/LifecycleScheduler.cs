using System.Globalization;
using System.Text.Json;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Storage;

namespace Rekey.Lifecycle;

/// <summary>
/// Enforces lifecycle policies. Each <see cref="TickAsync"/> asks the store for the keys due now
/// (one indexed query), takes each key's lease so exactly one instance acts on it, and does at
/// most one thing per key: activate a staged version, rotate, move a rotation record on, or move
/// an old version one step through retention. It then stores when the key is next due.
/// Every action is audited with the policy that caused it as the actor (<c>policy:tenants/*</c>).
/// </summary>
/// <remarks>
/// The server runs a tick every second on every instance. Time comes from the injected clock, so
/// tests drive it. After downtime a key is caught up once: a rotation missed three times happens
/// once, and its audit event says how late it is.
/// </remarks>
public sealed class LifecycleScheduler
{
    private const int MaxStepsPerLease = 8;

    private readonly RekeyService _service;
    private readonly ILifecycleStore _store;
    private readonly RotationRecords _rotations;
    private readonly InventoryGate _gate;
    private readonly LifecycleOptions _options;
    private readonly TimeProvider _time;

    /// <summary>A scheduler acting as <paramref name="owner"/> (unique per instance).</summary>
    public LifecycleScheduler(RekeyService service, ILifecycleStore store, RotationRecords rotations, InventoryGate gate, string owner, LifecycleOptions? options = null, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        _service = service;
        _store = store;
        _rotations = rotations;
        _gate = gate;
        Owner = owner;
        _options = options ?? new LifecycleOptions();
        _time = time ?? TimeProvider.System;
    }

    /// <summary>This instance's lease owner name.</summary>
    public string Owner { get; }

    /// <summary>Called with a key and the error when acting on it failed; the key is tried again after the recheck interval.</summary>
    public Action<KeyName, Exception>? OnKeyError { get; set; }

    /// <summary>One pass over the keys due now; returns how many this instance looked at.</summary>
    public async Task<int> TickAsync(CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var due = await _store.GetDueKeysAsync(now, _options.BatchSize, cancellationToken).ConfigureAwait(false);
        if (due.Count == 0)
        {
            return 0;
        }

        var policies = (await _store.ListPoliciesAsync(cancellationToken).ConfigureAwait(false)).Select(LifecyclePolicies.Parse).ToList();
        var looked = 0;
        await Parallel.ForEachAsync(
            due,
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _options.Concurrency), CancellationToken = cancellationToken },
            async (key, ct) =>
            {
                if (await ActOnAsync(key, policies, now, ct).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref looked);
                }
            }).ConfigureAwait(false);
        return looked;
    }

    /// <summary>Takes the key's lease, acts on it, and releases it with its next due time; false when another instance holds it.</summary>
    private async Task<bool> ActOnAsync(KeyName key, IReadOnlyList<PolicyEntry> policies, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var leased = await _store.TryLeaseKeyAsync(key, Owner, now, now + _options.LeaseDuration, cancellationToken).ConfigureAwait(false);
        if (leased is null)
        {
            return false; // another instance has it
        }

        var notes = JsonSerializer.Deserialize(leased.Document, LifecycleJson.Default.ScheduleNotes) ?? new ScheduleNotes();
        DateTimeOffset? next = null;
        var generation = leased.Generation;
        try
        {
            // One step at a time, but several in one lease: a rotation's record, its jobs and
            // the retention that follows move on without waiting for the next tick. Each step
            // after the first reads the key's generation before it reads anything else, so the
            // release keeps its due time only if nothing changed after that step looked.
            for (var step = 0; step < MaxStepsPerLease; step++)
            {
                if (step > 0)
                {
                    generation = (await _store.GetScheduleAsync(key, cancellationToken).ConfigureAwait(false))?.Generation ?? generation;
                }

                next = await EvaluateAsync(key, policies, notes, cancellationToken).ConfigureAwait(false);
                if (next is null || next > _time.GetUtcNow())
                {
                    break;
                }
            }
        }
        catch (RekeyException e) when (e.Code == RekeyErrorCode.KeyNotFound)
        {
            return true; // deleted meanwhile; its schedule went with it
        }
        catch (Exception e) when (e is RekeyException or RekeyStoreException)
        {
            OnKeyError?.Invoke(key, e);
            notes.LastAction = "error: " + e.Message;
            next = _time.GetUtcNow() + _options.RecheckInterval;
        }

        await _store.ReleaseKeyAsync(key, Owner, generation, next, JsonSerializer.Serialize(notes, LifecycleJson.Default.ScheduleNotes), cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Does at most one thing to the key; returns when it is next due (now, after acting; null when nothing will ever be due).</summary>
    private async Task<DateTimeOffset?> EvaluateAsync(KeyName key, IReadOnlyList<PolicyEntry> policies, ScheduleNotes notes, CancellationToken cancellationToken)
    {
        var (policy, sources) = PolicyResolver.Resolve(key, policies);
        var versions = await _service.ListVersionsAsync(key, cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var due = new List<DateTimeOffset>();
        DateTimeOffset Acted(string what)
        {
            notes.LastAction = string.Create(CultureInfo.InvariantCulture, $"{now:u} {what}");
            return now;
        }

        // 1. A staged version becomes Active once every instance has had time to load it.
        var active = versions.Single(v => v.State == KeyVersionState.Active);
        if (versions.LastOrDefault(v => v.State == KeyVersionState.Pending) is { } pending)
        {
            if (policy.PendingFor is { } wait)
            {
                var at = pending.CreatedAt + wait;
                if (now >= at)
                {
                    await _service.ActivateAsync(key, pending.Version, Change(sources, "pending_seconds", $"staged {DurationText.Format(wait)}"), cancellationToken).ConfigureAwait(false);
                    return Acted($"activated version {pending.Version}");
                }

                due.Add(at);
            }
        }
        else if (RotationTriggers.Due(policy, active, now) is { } trigger)
        {
            // 2. Rotate when a trigger fires; catching up after downtime rotates once.
            if (trigger.At <= now)
            {
                var late = now - trigger.At;
                var details = string.Create(CultureInfo.InvariantCulture, $"{trigger.Cause}: {trigger.Why}") + (late >= TimeSpan.FromSeconds(1) ? "; late by " + DurationText.Format(TimeSpan.FromSeconds(Math.Floor(late.TotalSeconds))) : string.Empty);
                var options = new RotateOptions(active.Version, Activate: policy.PendingFor is null, Cause: trigger.Cause, Details: details);
                try
                {
                    var created = await _service.RotateAsync(key, options, Change(sources, trigger.Field, null), cancellationToken).ConfigureAwait(false);
                    return Acted($"rotated to version {created.Version} ({trigger.Cause})");
                }
                catch (RekeyException e) when (e.Code == RekeyErrorCode.Conflict)
                {
                    return now; // rotated meanwhile (by hand or another instance): look again
                }
            }

            due.Add(trigger.At);
        }

        if (policy.MaxEncryptions is not null)
        {
            // Usage counts arrive from every instance's flush; look again soon.
            due.Add(now + _options.RecheckInterval);
        }

        // 3. Rotation records move on through their phases.
        var recent = await _store.ListRotationsAsync(key, openOnly: false, 20, cancellationToken).ConfigureAwait(false);
        foreach (var record in recent.Where(r => RotationRecords.IsOpen(r.Phase)).Reverse())
        {
            var (changed, waiting) = await _rotations.AdvanceAsync(record, policy, sources, versions, cancellationToken).ConfigureAwait(false);
            if (changed)
            {
                return Acted($"rotation {record.Id} moved on from {record.Phase}");
            }

            if (waiting)
            {
                due.Add(now + _options.RecheckInterval);
            }
        }

        // 4. Old versions move one step through retention when every rule allows, and not at all
        // while a rotation has failed: an operator looks first.
        if (recent.FirstOrDefault(r => r.Phase == "failed") is { } failed)
        {
            notes.Waiting.Clear();
            notes.LastAction = $"retention waits: rotation {failed.Id} failed (rekey rotation show {failed.Id})";
        }
        else if (await RetentionStepAsync(key, policy, sources, versions, notes, due, now, cancellationToken).ConfigureAwait(false) is { } step)
        {
            return Acted(step);
        }

        return due.Count == 0 ? null : due.Min();
    }

    private async Task<string?> RetentionStepAsync(KeyName key, LifecyclePolicy policy, IReadOnlyDictionary<string, string> sources, IReadOnlyList<KeyVersionInfo> versions, ScheduleNotes notes, List<DateTimeOffset> due, DateTimeOffset now, CancellationToken cancellationToken)
    {
        notes.Waiting.Clear();
        foreach (var seen in notes.DisabledSeen.Keys.Where(v => versions.All(x => x.Version != v || x.State != KeyVersionState.Disabled)).ToList())
        {
            notes.DisabledSeen.Remove(seen);
        }

        if (policy.RetainFor is null && policy.UntilReencrypted != true && policy.KeepVersions is null)
        {
            return null; // no retention rule: old versions stay as they are
        }

        var kept = policy.KeepVersions is { } keep
            ? versions.Where(v => v.State != KeyVersionState.Destroyed).OrderByDescending(v => v.Version).Take(keep).Select(v => v.Version).ToHashSet()
            : [];
        foreach (var version in versions.Where(v => v.State is KeyVersionState.DecryptOnly or KeyVersionState.Disabled or KeyVersionState.DestroyScheduled))
        {
            if (kept.Contains(version.Version))
            {
                notes.Waiting[version.Version] = $"kept: one of the newest {policy.KeepVersions} versions";
                continue;
            }

            var field = version.State == KeyVersionState.DecryptOnly ? (policy.RetainFor is not null ? "retain_seconds" : policy.UntilReencrypted == true ? "until_reencrypted" : "keep_versions") : "destroy";
            if (version.State == KeyVersionState.DecryptOnly && policy.RetainFor is { } retain && version.DeactivatedAt is { } off && now < off + retain)
            {
                notes.Waiting[version.Version] = $"retained until {off + retain:u}";
                due.Add(off + retain);
                continue;
            }

            if (version.State != KeyVersionState.DecryptOnly && policy.Destroy != true)
            {
                continue; // the policy stops at Disabled
            }

            if (policy.UntilReencrypted == true && await UntilReencryptedAsync(key, version, versions, cancellationToken).ConfigureAwait(false) is { } holding)
            {
                notes.Waiting[version.Version] = holding;
                due.Add(now + _options.RecheckInterval);
                continue;
            }

            switch (version.State)
            {
                case KeyVersionState.DecryptOnly:
                    await _service.DisableAsync(key, version.Version, Change(sources, field, "retention"), cancellationToken).ConfigureAwait(false);
                    return $"disabled version {version.Version}";

                case KeyVersionState.Disabled:
                    var since = notes.DisabledSeen.TryGetValue(version.Version, out var seen) ? seen : notes.DisabledSeen[version.Version] = now;
                    var until = since + (policy.DisabledFor ?? TimeSpan.Zero);
                    if (now < until)
                    {
                        notes.Waiting[version.Version] = $"Disabled until {until:u}";
                        due.Add(until);
                        continue;
                    }

                    await _service.ScheduleDestroyAsync(key, version.Version, Change(sources, "destroy", "retention"), cancellationToken).ConfigureAwait(false);
                    return $"scheduled version {version.Version} for destruction";

                case KeyVersionState.DestroyScheduled when version.DestroyAfter is { } after:
                    if (now < after)
                    {
                        notes.Waiting[version.Version] = $"destruction due {after:u} (the key's destruction delay)";
                        due.Add(after);
                        continue;
                    }

                    try
                    {
                        await _service.DestroyAsync(key, version.Version, Change(sources, "destroy", "retention"), cancellationToken).ConfigureAwait(false);
                        return $"destroyed version {version.Version}";
                    }
                    catch (RekeyException e) when (e.Code == RekeyErrorCode.PolicyViolation)
                    {
                        // The inventory holds it back (audited as a refusal); look again later.
                        notes.Waiting[version.Version] = e.Message;
                        due.Add(now + _options.RecheckInterval);
                        continue;
                    }
            }
        }

        return null;
    }

    /// <summary>Null when no registered source still counts a value under the version; otherwise what holds it.</summary>
    private async Task<string?> UntilReencryptedAsync(KeyName key, KeyVersionInfo version, IReadOnlyList<KeyVersionInfo> versions, CancellationToken cancellationToken)
    {
        if ((await _gate.HoldingAsync(key, cancellationToken).ConfigureAwait(false)).Count == 0)
        {
            return "until re-encrypted: no registered data source holds this key, so the inventory cannot show the version unused (register the tables that hold it)";
        }

        return await _gate.CheckDestroyAsync(version, versions, cancellationToken).ConfigureAwait(false) is { } refusal ? "until re-encrypted: " + refusal : null;
    }

    private static ChangeContext Change(IReadOnlyDictionary<string, string> sources, string field, string? reason) =>
        new(PolicyResolver.Actor(sources, field), reason) { ByPolicy = true };
}
