using System.Globalization;
using System.Text.Json;
using Rekey.Audit;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Rewrap;
using Rekey.Storage;

namespace Rekey.Lifecycle;

/// <summary>
/// Rotation records: listing and showing them, retrying a failed one, and (for the scheduler)
/// moving one through its phases: prepare, execute (re-wrap jobs over the registered sources that
/// hold the key), verify (the inventory shows nothing left under older versions), complete.
/// </summary>
public sealed class RotationRecords
{
    private static readonly string[] Open = ["prepare", "execute", "verify"];

    private readonly ILifecycleStore _store;
    private readonly RewrapJobs _jobs;
    private readonly InventoryGate _gate;
    private readonly TimeProvider _time;

    /// <summary>Records in <paramref name="store"/>; jobs through <paramref name="jobs"/>; counts from <paramref name="gate"/>.</summary>
    public RotationRecords(ILifecycleStore store, RewrapJobs jobs, InventoryGate gate, TimeProvider? time = null)
    {
        _store = store;
        _jobs = jobs;
        _gate = gate;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Records newest first: of one key, or all.</summary>
    public async Task<IReadOnlyList<RotationRecord>> ListAsync(KeyName? key = null, int limit = 100, CancellationToken cancellationToken = default) =>
        (await _store.ListRotationsAsync(key, false, limit, cancellationToken).ConfigureAwait(false)).Select(ToRecord).ToList();

    /// <summary>One record; <c>RotationNotFound</c> when there is none.</summary>
    public async Task<RotationRecord> GetAsync(string id, CancellationToken cancellationToken = default) =>
        ToRecord(await FindAsync(id, cancellationToken).ConfigureAwait(false));

    /// <summary>
    /// Sends a failed rotation back to the phase it failed in; the scheduler carries on from there
    /// (new re-wrap jobs for the sources whose jobs did not complete). Audited as <c>rotation.retry</c>.
    /// Nothing done so far is undone, so a retry loses nothing.
    /// </summary>
    public async Task<RotationRecord> RetryAsync(string id, ChangeContext change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        var stored = await FindAsync(id, cancellationToken).ConfigureAwait(false);
        if (stored.Phase != "failed")
        {
            throw new RekeyException(RekeyErrorCode.TransitionNotAllowed, $"Rotation {id} is in phase {stored.Phase}; only a failed rotation can be retried.");
        }

        var document = Parse(stored);
        var phase = document.FailedIn ?? "execute";
        document.Jobs.RemoveAll(j => j.State != nameof(RewrapJobState.Completed) || j.Failed > 0);
        document.Note = "retried";
        document.FailedIn = null;
        var now = AuditChain.TruncateToMilliseconds(_time.GetUtcNow());
        document.PhaseTimes[phase] = now;
        var next = stored with { Phase = phase, Document = Serialize(document), UpdatedAt = now };
        var audit = ChangeContext.Stamp(change, new AuditRecord(now, change.Actor, "rotation.retry", stored.Key.Value, stored.FromVersion, stored.ToVersion, "success", $"rotation {id}; back to {phase}"));
        if (!await _store.UpdateRotationAsync(next, "failed", audit, cancellationToken).ConfigureAwait(false))
        {
            throw new RekeyException(RekeyErrorCode.Conflict, $"Rotation {id} changed meanwhile; look again.");
        }

        return ToRecord(next);
    }

    /// <summary>
    /// Moves one open record on by at most one phase. True when it changed something (the key is
    /// looked at again at once); Waiting is true when it waits on jobs or the inventory.
    /// </summary>
    internal async Task<(bool Changed, bool Waiting)> AdvanceAsync(StoredRotation stored, LifecyclePolicy policy, IReadOnlyDictionary<string, string> sources, IReadOnlyList<KeyVersionInfo> versions, CancellationToken cancellationToken)
    {
        var document = Parse(stored);
        var now = AuditChain.TruncateToMilliseconds(_time.GetUtcNow());
        var actor = PolicyResolver.Actor(sources, "auto_rewrap");
        switch (stored.Phase)
        {
            case "prepare":
                var created = versions.FirstOrDefault(v => v.Version == stored.ToVersion);
                if (created is null || created.State == KeyVersionState.Pending)
                {
                    return (false, false); // activated by the staged-activation rule, or by hand
                }

                if ((await _gate.HoldingAsync(stored.Key, cancellationToken).ConfigureAwait(false)).Count == 0)
                {
                    // Nothing can hold data under the key: nothing to re-wrap or count, so the
                    // rotation is complete at once, in one audited step.
                    document.PhaseTimes["execute"] = document.PhaseTimes["verify"] = now;
                    document.Note = "no registered data source holds this key: nothing to re-wrap or count";
                    return (await MoveAsync(stored, document, "complete", null, actor, now, cancellationToken).ConfigureAwait(false), false);
                }

                return (await MoveAsync(stored, document, "execute", null, actor, now, cancellationToken).ConfigureAwait(false), false);

            case "execute":
                return await ExecuteAsync(stored, document, policy, actor, now, cancellationToken).ConfigureAwait(false);

            case "verify":
                var holding = await _gate.HoldingAsync(stored.Key, cancellationToken).ConfigureAwait(false);
                document.Remaining = await _gate.RemainingAsync(stored.Key, stored.ToVersion, stored.CreatedAt, cancellationToken).ConfigureAwait(false);
                if (holding.Count == 0)
                {
                    document.Note = "no registered data source holds this key, so there is nothing to count";
                    return (await MoveAsync(stored, document, "complete", null, actor, now, cancellationToken).ConfigureAwait(false), false);
                }

                if (document.Remaining.Values.All(n => n == 0))
                {
                    document.Note = "every registered source counts no value under older versions";
                    return (await MoveAsync(stored, document, "complete", null, actor, now, cancellationToken).ConfigureAwait(false), false);
                }

                var waiting = string.Join(", ", document.Remaining.Where(p => p.Value != 0).Select(p => p.Value is null ? $"{p.Key}: not counted since the rotation" : string.Create(CultureInfo.InvariantCulture, $"{p.Key}: {p.Value} values under older versions")));
                if (document.Note != "waiting for the inventory: " + waiting)
                {
                    document.Note = "waiting for the inventory: " + waiting;
                    await SaveAsync(stored, document, now, cancellationToken).ConfigureAwait(false);
                }

                return (false, true);

            default:
                return (false, false);
        }
    }

    private async Task<(bool Changed, bool Waiting)> ExecuteAsync(StoredRotation stored, RotationDocument document, LifecyclePolicy policy, string actor, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var holding = await _gate.HoldingAsync(stored.Key, cancellationToken).ConfigureAwait(false);
        if (policy.AutoRewrap != true || holding.Count == 0)
        {
            document.Note = holding.Count == 0 ? "no registered data source holds this key" : "automatic re-wrap is off for this key (auto_rewrap); run re-wrap jobs to drain older versions";
            return (await MoveAsync(stored, document, "verify", null, actor, now, cancellationToken).ConfigureAwait(false), false);
        }

        var zone = PolicyRules.Zone(policy.TimeZone) ?? TimeZoneInfo.Utc;
        var inWindow = PolicyRules.InWindow(policy.RewrapWindow, zone, now);
        var change = new ChangeContext(actor, "rotation " + stored.Id);
        var changed = false;
        foreach (var source in holding.Where(s => document.Jobs.All(j => j.Source != s)))
        {
            if (!inWindow)
            {
                break;
            }

            // With the records' context, the job decrypts a sample of what it moved.
            var definition = new RewrapJobDefinition(
                stored.Key,
                new SourceDefinition(SourceKind.Postgres, string.Empty, string.Empty, "id", IdKind.Integer, []),
                ThrottleRowsPerSecond: policy.RewrapRowsPerSecond ?? 0,
                Verification: policy.RewrapContextTemplate is null ? VerificationMode.None : VerificationMode.Sample,
                ContextTemplate: policy.RewrapContextTemplate,
                DataSource: source,
                ContextForm: PolicyRules.ContextFormOf(policy.RewrapContextForm) ?? ContextForm.Text);
            try
            {
                var job = await _jobs.StartAsync(definition, change, cancellationToken).ConfigureAwait(false);
                document.Jobs.Add(new RotationJob(source, job.Id, job.State.ToString(), 0, 0));
            }
            catch (RekeyException e) when (e.Code is RekeyErrorCode.InvalidRequest or RekeyErrorCode.Forbidden or RekeyErrorCode.SourceNotFound)
            {
                return (await FailAsync(stored, document, "execute", actor, $"A re-wrap job over '{source}' could not start: {e.Message} Fix the source, then run: rekey rotation retry {stored.Id}", now, cancellationToken).ConfigureAwait(false), false);
            }

            changed = true;
        }

        for (var i = 0; i < document.Jobs.Count; i++)
        {
            var job = document.Jobs[i];
            var status = await _jobs.GetStatusAsync(job.JobId, cancellationToken).ConfigureAwait(false);
            if (!inWindow && status.State is RewrapJobState.Pending or RewrapJobState.Running)
            {
                status = await _jobs.PauseAsync(job.JobId, change with { Reason = "outside the re-wrap window " + policy.RewrapWindow }, cancellationToken).ConfigureAwait(false);
            }
            else if (inWindow && status.State == RewrapJobState.Paused && policy.RewrapWindow is not null)
            {
                status = await _jobs.ResumeAsync(job.JobId, change with { Reason = "inside the re-wrap window " + policy.RewrapWindow }, cancellationToken).ConfigureAwait(false);
            }

            var seen = new RotationJob(job.Source, job.JobId, status.State.ToString(), status.Rewrapped, status.Failed);
            changed |= seen != job;
            document.Jobs[i] = seen;
            if (status.State is RewrapJobState.Failed or RewrapJobState.Cancelled)
            {
                return (await FailAsync(stored, document, "execute", actor, $"The re-wrap job {job.JobId} over '{job.Source}' ended {status.State}{(status.Error is null ? string.Empty : ": " + status.Error)}. Fix the cause, then run: rekey rotation retry {stored.Id}", now, cancellationToken).ConfigureAwait(false), false);
            }
        }

        if (holding.All(s => document.Jobs.Any(j => j.Source == s && j.State == nameof(RewrapJobState.Completed))))
        {
            var failed = document.Jobs.Sum(j => j.Failed);
            if (failed > 0)
            {
                var jobs = string.Join(", ", document.Jobs.Where(j => j.Failed > 0).Select(j => j.JobId));
                return (await FailAsync(stored, document, "execute", actor, string.Create(CultureInfo.InvariantCulture, $"{failed} values could not be moved or failed the sample decryption (see: rekey rewrap failures {jobs}). Fix them, then run: rekey rotation retry {stored.Id}"), now, cancellationToken).ConfigureAwait(false), false);
            }

            document.Note = null;
            return (await MoveAsync(stored, document, "verify", null, actor, now, cancellationToken).ConfigureAwait(false), false);
        }

        document.Note = inWindow ? "re-wrap jobs running" : $"outside the re-wrap window {policy.RewrapWindow}; jobs paused";
        if (changed)
        {
            await SaveAsync(stored, document, now, cancellationToken).ConfigureAwait(false);
        }

        return (false, true);
    }

    private Task<bool> FailAsync(StoredRotation stored, RotationDocument document, string phase, string actor, string reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        document.FailedIn = phase;
        return MoveAsync(stored, document, "failed", reason, actor, now, cancellationToken);
    }

    private async Task<bool> MoveAsync(StoredRotation stored, RotationDocument document, string phase, string? failure, string actor, DateTimeOffset now, CancellationToken cancellationToken)
    {
        document.PhaseTimes[phase] = now;
        if (failure is not null)
        {
            document.Note = failure;
        }

        var next = stored with { Phase = phase, Document = Serialize(document), UpdatedAt = now };
        var details = $"rotation {stored.Id}; {stored.Phase} -> {phase}" + (document.Note is null ? string.Empty : "; " + document.Note);
        var audit = new AuditRecord(now, actor, "rotation." + phase, stored.Key.Value, stored.FromVersion, stored.ToVersion, phase == "failed" ? "failure" : "success", details);
        return await _store.UpdateRotationAsync(next, stored.Phase, audit, cancellationToken).ConfigureAwait(false);
    }

    private Task<bool> SaveAsync(StoredRotation stored, RotationDocument document, DateTimeOffset now, CancellationToken cancellationToken) =>
        _store.UpdateRotationAsync(stored with { Document = Serialize(document), UpdatedAt = now }, stored.Phase, null, cancellationToken);

    private async Task<StoredRotation> FindAsync(string id, CancellationToken cancellationToken) =>
        await _store.FindRotationAsync(id, cancellationToken).ConfigureAwait(false)
            ?? throw new RekeyException(RekeyErrorCode.RotationNotFound, $"No rotation record has the id '{id}'.");

    /// <summary>True for a phase the scheduler still has work in.</summary>
    internal static bool IsOpen(string phase) => Open.Contains(phase);

    private static RotationDocument Parse(StoredRotation stored) =>
        JsonSerializer.Deserialize(stored.Document, LifecycleJson.Default.RotationDocument) ?? new RotationDocument();

    private static string Serialize(RotationDocument document) => JsonSerializer.Serialize(document, LifecycleJson.Default.RotationDocument);

    private static RotationRecord ToRecord(StoredRotation stored)
    {
        var document = Parse(stored);
        var times = new Dictionary<string, DateTimeOffset>(document.PhaseTimes) { ["prepare"] = stored.CreatedAt };
        var note = document.Note;
        if (stored.Phase == "complete" && !times.ContainsKey("complete"))
        {
            // Completed in the rotation's own transaction: nothing could hold data under the key.
            times["complete"] = stored.CreatedAt;
            note ??= "no registered data source held this key at the rotation: nothing to re-wrap or count";
        }

        return new RotationRecord(
            stored.Id,
            stored.Key,
            stored.FromVersion,
            stored.ToVersion,
            stored.Cause,
            Enum.Parse<RotationPhase>(stored.Phase, ignoreCase: true),
            stored.CreatedAt,
            stored.UpdatedAt,
            times,
            document.Jobs,
            document.Remaining,
            note);
    }
}
