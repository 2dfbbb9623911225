using System.Globalization;
using System.Security.Cryptography;
using Rekey.Audit;
using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Rewrap.Sources;
using Rekey.Storage;

namespace Rekey.Rewrap;

/// <summary>
/// Re-wrap jobs: after a rotation, move every value in an application's table that is still under
/// an older version of a key to the version that was Active when the job started, in batches,
/// without overwriting the application's concurrent writes, resumable from the last checkpoint,
/// and with a per-version inventory at the end. Job state lives in the Rekey store, so any
/// process (the CLI, a server instance) can run, pause, resume or watch a job.
/// </summary>
public sealed class RewrapJobs
{
    private static readonly string[] Active = [nameof(RewrapJobState.Pending), nameof(RewrapJobState.Running)];
    private static readonly string[] Resumable = [nameof(RewrapJobState.Paused), nameof(RewrapJobState.Failed)];
    private static readonly string[] Cancellable = [nameof(RewrapJobState.Pending), nameof(RewrapJobState.Running), nameof(RewrapJobState.Paused), nameof(RewrapJobState.Failed)];

    private readonly RekeyService _service;
    private readonly IRewrapJobStore _store;
    private readonly TimeProvider _time;
    private readonly RewrapOptions _options;
    private readonly DataSources? _sources;

    /// <summary>
    /// Creates the job service over a Rekey service and the store its jobs live in (the same store
    /// as the keys), with the registry of data sources that jobs naming one are resolved through.
    /// </summary>
    public RewrapJobs(RekeyService service, IRewrapJobStore store, RewrapOptions? options = null, TimeProvider? time = null, DataSources? sources = null)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(store);
        _service = service;
        _store = store;
        _sources = sources;
        _options = options ?? new RewrapOptions();
        _time = time ?? TimeProvider.System;
    }

    /// <summary>
    /// Checks a definition (names, limits, that the table and columns can be read, that the key
    /// exists), fixes the target version (the key's Active version now) and records the job as
    /// Pending. Nothing is written to the source yet.
    /// </summary>
    public async Task<RewrapJobStatus> StartAsync(RewrapJobDefinition definition, ChangeContext change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(change);
        var key = await _service.GetKeyAsync(definition.Key, cancellationToken).ConfigureAwait(false);
        definition = await ResolveAsync(definition, cancellationToken).ConfigureAwait(false);
        Validate(definition);
        await using var source = OpenSource(definition);
        var total = await SourceCheckedAsync(definition, async () =>
        {
            using var arena = new ByteArena();
            await source.ReadAsync(null, 1, arena, cancellationToken).ConfigureAwait(false);
            return await source.CountAsync(cancellationToken).ConfigureAwait(false);
        }).ConfigureAwait(false);

        var now = _time.GetUtcNow();

        // A registered source's connection stays in the registry, wrapped: never in the job.
        var stored = definition.DataSource is null ? definition : definition with { Source = definition.Source with { Connection = string.Empty } };
        var sourceName = definition.DataSource is { } registered ? DataSources.InventoryName(registered) : source.Name;
        var document = new RewrapDocument { Definition = stored, SourceName = sourceName, TargetVersion = key.ActiveVersion, Total = total, StartedAt = now };
        var id = "rw_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var job = new StoredRewrapJob(id, definition.Key, nameof(RewrapJobState.Pending), document.Serialize(), null, null, now);
        var details = $"job {id}; {definition.Mode} {sourceName} to version {key.ActiveVersion}";
        await _store.CreateJobAsync(job, ChangeContext.Stamp(change, new AuditRecord(Stamp(now), change.Actor, "rewrap.start", definition.Key.Value, null, key.ActiveVersion, "success", details)), cancellationToken).ConfigureAwait(false);
        return StatusOf(job, document);
    }

    /// <summary>
    /// Runs a Pending or Running job as <paramref name="owner"/> until it completes, is paused or
    /// cancelled (from anywhere), fails, or another runner takes it over. A Running job whose
    /// runner died continues from its last checkpoint once its lease has lapsed. Cancelling
    /// <paramref name="cancellationToken"/> hands the job back as Pending.
    /// </summary>
    public async Task<RewrapJobStatus> RunAsync(string id, string owner, IProgress<RewrapJobStatus>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        var job = await FindAsync(id, cancellationToken).ConfigureAwait(false);
        if (!Active.Contains(job.State))
        {
            return StatusOf(job, RewrapDocument.Parse(job.Document));
        }

        var now = _time.GetUtcNow();
        if (!await _store.TryLeaseJobAsync(id, owner, now, now + _options.LeaseDuration, cancellationToken).ConfigureAwait(false))
        {
            var holder = await FindAsync(id, cancellationToken).ConfigureAwait(false);
            throw new RekeyException(RekeyErrorCode.Conflict, $"Job {id} is being run by {holder.LeaseOwner} (lease until {holder.LeaseUntil:O}).");
        }

        job = await FindAsync(id, cancellationToken).ConfigureAwait(false);
        var document = RewrapDocument.Parse(job.Document);
        var running = job with { State = nameof(RewrapJobState.Running), UpdatedAt = _time.GetUtcNow() };
        if (!await _store.UpdateJobAsync(running, Active, owner, [], null, cancellationToken).ConfigureAwait(false))
        {
            return await GetStatusAsync(id, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            var definition = await ResolveAsync(document.Definition, cancellationToken).ConfigureAwait(false);
            await using var source = OpenSource(definition);
            var run = new RewrapRun(_service, _store, _time, _options, source, running, document, owner, progress);
            await SourceCheckedAsync(definition, async () =>
            {
                await run.RunAsync(cancellationToken).ConfigureAwait(false);
                return 0;
            }).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The runner is going away (Ctrl+C, a server shutting down): hand the job back as
            // Pending so any runner continues from its checkpoint without waiting for the lease.
            await StopAsync(id, owner, RewrapJobState.Pending, "rewrap.release", "released by its runner; continues from its last checkpoint", CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RekeyStoreException or RekeyException or System.Data.Common.DbException or IOException or InvalidOperationException)
        {
            // Not about one record: the source or the store failed. Recorded; resume to retry from the checkpoint.
            await StopAsync(id, owner, RewrapJobState.Failed, "rewrap.fail", e.Message, CancellationToken.None).ConfigureAwait(false);
        }

        var status = await GetStatusAsync(id, CancellationToken.None).ConfigureAwait(false);
        progress?.Report(status);
        return status;
    }

    // A job over a registered source gets its table and connection from the registry each time,
    // so a source removed or narrowed since takes effect.
    private async Task<RewrapJobDefinition> ResolveAsync(RewrapJobDefinition definition, CancellationToken cancellationToken)
    {
        if (definition.DataSource is not { } name)
        {
            return definition;
        }

        var sources = _sources ?? throw new RekeyException(RekeyErrorCode.InvalidRequest, "This job names a registered data source, but no registry was given to run it.");
        return definition with { Source = await sources.ResolveAsync(name, definition.Key, cancellationToken).ConfigureAwait(false) };
    }

    private IRewrapSource OpenSource(RewrapJobDefinition definition)
    {
        try
        {
            return RewrapSources.Open(definition);
        }
        catch (RekeyException e) when (definition.DataSource is { } name && _sources is not null)
        {
            throw _sources.Unreachable(name, e);
        }
    }

    // Errors from a registered source reach callers as one sentence, the details going to the
    // server log: otherwise a job's errors would tell what answers at a host or a path.
    private async Task<T> SourceCheckedAsync<T>(RewrapJobDefinition definition, Func<Task<T>> work)
    {
        if (definition.DataSource is not { } name || _sources is null)
        {
            return await RewrapSources.CheckedAsync(work).ConfigureAwait(false);
        }

        try
        {
            return await work().ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.Data.Common.DbException or IOException)
        {
            throw _sources.Unreachable(name, e);
        }
    }

    /// <summary>A job's progress.</summary>
    public async Task<RewrapJobStatus> GetStatusAsync(string id, CancellationToken cancellationToken = default)
    {
        var job = await FindAsync(id, cancellationToken).ConfigureAwait(false);
        return StatusOf(job, RewrapDocument.Parse(job.Document));
    }

    /// <summary>Every job, newest first.</summary>
    public async Task<IReadOnlyList<RewrapJobStatus>> ListAsync(CancellationToken cancellationToken = default) =>
        (await _store.ListJobsAsync(cancellationToken).ConfigureAwait(false)).Select(j => StatusOf(j, RewrapDocument.Parse(j.Document))).ToList();

    /// <summary>Pauses a Pending or Running job; its runner stops after the batch in hand. Audited.</summary>
    public Task<RewrapJobStatus> PauseAsync(string id, ChangeContext change, CancellationToken cancellationToken = default) =>
        ChangeStateAsync(id, Active, RewrapJobState.Paused, "rewrap.pause", change, cancellationToken);

    /// <summary>Makes a Paused or Failed job Pending again, to be run from its checkpoint. Audited.</summary>
    public Task<RewrapJobStatus> ResumeAsync(string id, ChangeContext change, CancellationToken cancellationToken = default) =>
        ChangeStateAsync(id, Resumable, RewrapJobState.Pending, "rewrap.resume", change, cancellationToken);

    /// <summary>Cancels a job for good; values already moved stay moved. Audited.</summary>
    public Task<RewrapJobStatus> CancelAsync(string id, ChangeContext change, CancellationToken cancellationToken = default) =>
        ChangeStateAsync(id, Cancellable, RewrapJobState.Cancelled, "rewrap.cancel", change, cancellationToken);

    /// <summary>The records a job could not move, and why.</summary>
    public async Task<IReadOnlyList<RewrapFailureRecord>> GetFailuresAsync(string id, int limit = 1000, CancellationToken cancellationToken = default)
    {
        await FindAsync(id, cancellationToken).ConfigureAwait(false);
        return await _store.GetFailuresAsync(id, limit, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>How many values each version of a key still protects, per source, as counted by the last finished job on each.</summary>
    public Task<IReadOnlyList<InventoryCount>> GetInventoryAsync(KeyName key, CancellationToken cancellationToken = default) =>
        _store.GetInventoryAsync(key, cancellationToken);

    /// <summary>Ids of jobs a scheduler may run now: Pending or Running, with no lease or a lapsed one.</summary>
    public async Task<IReadOnlyList<string>> RunnableAsync(CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        return (await _store.ListJobsAsync(cancellationToken).ConfigureAwait(false))
            .Where(j => j.State is nameof(RewrapJobState.Pending) or nameof(RewrapJobState.Running) && (j.LeaseUntil is null || j.LeaseUntil < now))
            .Select(j => j.Id)
            .ToList();
    }

    /// <summary>Checks a context template as a job would; <c>InvalidRequest</c> saying why it cannot make a context.</summary>
    public static void CheckContextTemplate(string template, ContextForm form) => ContextTemplate.Parse(template, form);

    internal static ContextTemplate ContextOf(RewrapJobDefinition definition) =>
        ContextTemplate.Parse(definition.ContextTemplate!, definition.ContextForm);

    internal static RewrapJobStatus StatusOf(StoredRewrapJob job, RewrapDocument d)
    {
        var seconds = d.RunningMilliseconds / 1000.0;
        var rate = seconds > 0 ? d.Done / seconds : 0;
        TimeSpan? eta = rate > 0 && d.Total >= d.Done ? TimeSpan.FromSeconds((d.Total - d.Done) / rate) : null;
        return new RewrapJobStatus(
            job.Id, job.Key, d.SourceName, d.Definition.Mode, Enum.Parse<RewrapJobState>(job.State), d.TargetVersion, d.Pass, d.Done, d.Total,
            d.Rewrapped, d.AlreadyCurrent, d.Skipped, d.Failed, rate, eta, new SortedDictionary<int, long>(d.PerVersion), d.Verification, d.Error, d.StartedAt, d.FinishedAt);
    }

    private static void Validate(RewrapJobDefinition d)
    {
        ArgumentNullException.ThrowIfNull(d.Source);
        string? problem = d switch
        {
            { BatchSize: < 1 or > 100_000 } => "batch size must be from 1 to 100000",
            { ThrottleRowsPerSecond: < 0 } => "throttle must be 0 (none) or a positive number of rows per second",
            { Concurrency: < 1 or > 64 } => "concurrency must be from 1 to 64",
            { Verification: VerificationMode.Sample, SampleSize: < 1 } => "a sample needs at least one value",
            { Mode: RewrapMode.Reencrypt, ContextTemplate: null } => "reencrypt needs the records' context template (for example 'table=patients;id={id}')",
            { Verification: not VerificationMode.None, ContextTemplate: null } => "verification decrypts, so it needs the records' context template",
            { Mode: RewrapMode.Reencrypt, Source.Kind: SourceKind.Files } => "a backup set's files are moved by rewriting their header; a new data key means encrypting the file again ('rekey file decrypt | rekey file encrypt')",
            _ => null,
        };
        if (problem is not null)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "The job definition is not usable: " + problem + ".");
        }

        Sources.RewrapSources.Validate(d.Source);
        if (d.ContextTemplate is not null)
        {
            _ = ContextTemplate.Parse(d.ContextTemplate, d.ContextForm);
        }
    }

    private async Task<RewrapJobStatus> ChangeStateAsync(string id, string[] from, RewrapJobState to, string action, ChangeContext change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(change);
        var job = await FindAsync(id, cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var document = RewrapDocument.Parse(job.Document);
        if (to == RewrapJobState.Cancelled)
        {
            document.FinishedAt = now;
        }

        var next = job with { State = to.ToString(), Document = document.Serialize(), LeaseOwner = null, LeaseUntil = null, UpdatedAt = now };
        var audit = ChangeContext.Stamp(change, new AuditRecord(Stamp(now), change.Actor, action, job.Key.Value, null, document.TargetVersion, "success", $"job {id}"));
        if (!await _store.UpdateJobAsync(next, from, null, [], audit, cancellationToken).ConfigureAwait(false))
        {
            var current = await FindAsync(id, cancellationToken).ConfigureAwait(false);
            throw new RekeyException(RekeyErrorCode.TransitionNotAllowed, $"Job {id} is {current.State}; it cannot go to {to} from there.");
        }

        return StatusOf(next, document);
    }

    private async Task StopAsync(string id, string owner, RewrapJobState state, string action, string why, CancellationToken cancellationToken)
    {
        var job = await FindAsync(id, cancellationToken).ConfigureAwait(false);
        var document = RewrapDocument.Parse(job.Document);
        if (state == RewrapJobState.Failed)
        {
            document.Error = why;
        }

        var now = _time.GetUtcNow();
        var next = job with { State = state.ToString(), Document = document.Serialize(), LeaseOwner = null, LeaseUntil = null, UpdatedAt = now };
        var outcome = state == RewrapJobState.Failed ? "failure" : "success";
        var audit = new AuditRecord(Stamp(now), owner, action, job.Key.Value, null, document.TargetVersion, outcome, $"job {id}; {why}");
        await _store.UpdateJobAsync(next, [nameof(RewrapJobState.Running)], owner, [], audit, cancellationToken).ConfigureAwait(false);
    }

    private async Task<StoredRewrapJob> FindAsync(string id, CancellationToken cancellationToken) =>
        await _store.FindJobAsync(id, cancellationToken).ConfigureAwait(false)
        ?? throw new RekeyException(RekeyErrorCode.JobNotFound, $"No re-wrap job '{id}'.");

    private static DateTimeOffset Stamp(DateTimeOffset time) => AuditChain.TruncateToMilliseconds(time);
}
