using System.Buffers;
using System.Security.Cryptography;
using System.Threading.Channels;
using Rekey.Audit;
using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Rewrap.Sources;
using Rekey.Storage;

namespace Rekey.Rewrap;

/// <summary>
/// One runner's turn at a job: passes of batches until the table is done, the job is paused or
/// cancelled, or the lease is lost. Reading the next batches and transforming them overlap with
/// writing the current one; writes and checkpoints happen in id order, one batch at a time.
/// </summary>
internal sealed class RewrapRun
{
    private static readonly string[] RunningStates = [nameof(RewrapJobState.Running)];

    /// <summary>The most a throttled job makes up for having fallen behind its rate.</summary>
    private static readonly TimeSpan ThrottleCatchUp = TimeSpan.FromSeconds(1);

    private ContextTemplate? _context;
    private readonly RekeyService _service;
    private readonly IRewrapJobStore _store;
    private readonly TimeProvider _time;
    private readonly RewrapOptions _options;
    private readonly IRewrapSource _source;
    private readonly string _owner;
    private readonly IProgress<RewrapJobStatus>? _progress;

    // The chunks batches hold their values in, reused from batch to batch.
    private readonly ArrayPool<byte> _chunks = ArrayPool<byte>.Create(ByteArena.ChunkSize, 64);
    private StoredRewrapJob _job;

    public RewrapRun(RekeyService service, IRewrapJobStore store, TimeProvider time, RewrapOptions options, IRewrapSource source, StoredRewrapJob job, RewrapDocument document, string owner, IProgress<RewrapJobStatus>? progress)
    {
        _service = service;
        _store = store;
        _time = time;
        _options = options;
        _source = source;
        _job = job;
        Document = document;
        _owner = owner;
        _progress = progress;
    }

    public RewrapDocument Document { get; }

    private RewrapJobDefinition Definition => Document.Definition;

    // Parsed once per run; the definition was checked when the job was created.
    private ContextTemplate Context => _context ??= RewrapJobs.ContextOf(Definition);

    /// <summary>Runs until the job ends or stops; returns the state it is left in.</summary>
    public async Task<RewrapJobState> RunAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (await RunPassAsync(cancellationToken).ConfigureAwait(false) is { } stopped)
            {
                return stopped;
            }

            if (Document.PassSkipped > 0 && Document.Pass < _options.MaxPasses)
            {
                // Rows the application changed meanwhile: look at them again in a new pass.
                Document.Pass++;
                Document.Done = 0;
                Document.PassSkipped = 0;
                Document.PerVersion = [];
                Document.Inventory = [];
                Document.SetPosition(null);
                Document.Total = await _source.CountAsync(cancellationToken).ConfigureAwait(false);
                if (!await SaveAsync([], null, cancellationToken).ConfigureAwait(false))
                {
                    return await StoppedStateAsync(cancellationToken).ConfigureAwait(false);
                }

                continue;
            }

            if (Definition.Verification != VerificationMode.None)
            {
                Document.Verification = await VerifyAsync(cancellationToken).ConfigureAwait(false);
            }

            var now = _time.GetUtcNow();
            // Counted under the job's source name (a registered source's own name when it has one),
            // with the target version always present, at zero for an empty table: a count of
            // nothing is still a count, dated, which retention needs to see.
            var counts = new Dictionary<int, long>(Document.Inventory);
            counts.TryAdd(Document.TargetVersion, 0);
            var inventory = counts.OrderBy(p => p.Key).Select(p => new InventoryCount(Document.SourceName, Definition.Key, p.Key, p.Value, now)).ToList();
            await _store.ReplaceInventoryAsync(Document.SourceName, Definition.Key, inventory, cancellationToken).ConfigureAwait(false);
            Document.FinishedAt = now;
            var details = $"job {_job.Id}; {Document.Rewrapped} moved, {Document.AlreadyCurrent} already current, {Document.Failed} failed, {Document.Skipped} skipped in {Document.Pass} passes"
                + (Document.Verification is null ? string.Empty : "; " + Document.Verification);
            var audit = new AuditRecord(AuditChain.TruncateToMilliseconds(now), _owner, "rewrap.finish", Definition.Key.Value, null, Document.TargetVersion, "success", details);
            return await SaveAsync([], audit, cancellationToken, RewrapJobState.Completed).ConfigureAwait(false)
                ? RewrapJobState.Completed
                : await StoppedStateAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One pass from the checkpoint to the end of the table; null when it reached the end.</summary>
    private async Task<RewrapJobState?> RunPassAsync(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var transformed = Channel.CreateBounded<Task<Batch>>(new BoundedChannelOptions(Math.Max(1, Definition.Concurrency)) { SingleReader = true, SingleWriter = true });
        var reader = Task.Run(() => ReadAsync(transformed.Writer, stop.Token), stop.Token);
        var started = _time.GetTimestamp();
        var runningBefore = Document.RunningMilliseconds;
        try
        {
            await foreach (var pending in transformed.Reader.ReadAllAsync(stop.Token).ConfigureAwait(false))
            {
                using var batch = await pending.ConfigureAwait(false);
                var written = await _source.WriteAsync(batch.Updates, stop.Token).ConfigureAwait(false);
                var skipped = 0;
                for (var u = 0; u < written.Length; u++)
                {
                    if (!written[u])
                    {
                        // Changed by the application since it was read: not moved, and not counted;
                        // the next pass looks at it again.
                        skipped++;
                        batch.Rewrapped -= batch.NewVersions[u].Count;
                        foreach (var version in batch.NewVersions[u])
                        {
                            batch.Inventory[version]--;
                        }
                    }
                }

                Document.Done += batch.Rows;
                Document.Rewrapped += batch.Rewrapped;
                Document.AlreadyCurrent += batch.AlreadyCurrent;
                Document.Failed += batch.Failures.Count;
                Document.Skipped += skipped;
                Document.PassSkipped += skipped;
                Add(Document.PerVersion, batch.PerVersion);
                Add(Document.Inventory, batch.Inventory);
                Document.SetPosition(batch.LastId);
                Document.RunningMilliseconds = runningBefore + (long)_time.GetElapsedTime(started).TotalMilliseconds;
                if (!await SaveAsync(batch.Failures, null, stop.Token).ConfigureAwait(false))
                {
                    return await StoppedStateAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            await reader.ConfigureAwait(false);
            return null;
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await reader.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The reader stops with the pass.
            }
        }
    }

    private async Task ReadAsync(ChannelWriter<Task<Batch>> output, CancellationToken cancellationToken)
    {
        try
        {
            var position = Document.PositionValue(Definition.Source.IdKind);
            var started = _time.GetTimestamp();
            long rowsRead = 0;
            while (true)
            {
                var input = new ByteArena(_chunks);
                var rows = await _source.ReadAsync(position, Definition.BatchSize, input, cancellationToken).ConfigureAwait(false);
                if (rows.Count == 0)
                {
                    input.Dispose();
                    break;
                }

                position = rows[^1].Id;
                await output.WriteAsync(Task.Run(() => TransformAsync(rows, input, cancellationToken), cancellationToken), cancellationToken).ConfigureAwait(false);
                rowsRead += rows.Count;
                if (Definition.ThrottleRowsPerSecond > 0)
                {
                    // Keep the average at the limit: wait until this many rows are due.
                    var due = TimeSpan.FromSeconds(rowsRead / (double)Definition.ThrottleRowsPerSecond);
                    var elapsed = _time.GetElapsedTime(started);
                    if (due > elapsed)
                    {
                        await Task.Delay(due - elapsed, _time, cancellationToken).ConfigureAwait(false);
                    }
                    else if (elapsed - due > ThrottleCatchUp)
                    {
                        // Fallen behind (a slow database, a stopped process): start counting again
                        // rather than run unthrottled to catch up, which is when the application
                        // would feel the job most.
                        started = _time.GetTimestamp();
                        rowsRead = 0;
                    }
                }
            }

            output.Complete();
        }
        catch (Exception e)
        {
            output.Complete(e);
        }
    }

    private async Task<Batch> TransformAsync(IReadOnlyList<SourceRow> rows, ByteArena input, CancellationToken cancellationToken)
    {
        var batch = new Batch(input, new ByteArena(_chunks)) { Rows = rows.Count, LastId = rows[^1].Id };
        var columns = Definition.Source.Columns;
        var now = _time.GetUtcNow();
        using var scratch = new DecodeBuffer();
        foreach (var row in rows)
        {
            ReadOnlyMemory<byte>?[]? updated = null;
            List<int>? newVersions = null;
            for (var i = 0; i < columns.Count; i++)
            {
                if (row.Values[i] is not { } value)
                {
                    continue;
                }

                var (envelope, version, problem) = Read(value, columns[i].Format, scratch);
                if (problem is not null)
                {
                    batch.Failures.Add(Failure(row, i, version, problem, now));
                    continue;
                }

                Increment(batch.PerVersion, version!.Value);
                if (version >= Document.TargetVersion)
                {
                    batch.AlreadyCurrent++;
                    Increment(batch.Inventory, version.Value);
                    continue;
                }

                try
                {
                    var moved = await MoveAsync(envelope, row.Id, cancellationToken).ConfigureAwait(false);
                    updated ??= new ReadOnlyMemory<byte>?[columns.Count];
                    updated[i] = columns[i].Format == CiphertextFormat.Text ? Text(moved, batch.Output) : batch.Output.Copy(moved);
                    batch.Rewrapped++;
                    var newVersion = EnvelopeReader.ReadVersion(moved);
                    Increment(batch.Inventory, newVersion);
                    (newVersions ??= []).Add(newVersion);
                }
                catch (RekeyException e)
                {
                    var reason = e.Code == RekeyErrorCode.DecryptionFailed && Definition.Mode == RewrapMode.Reencrypt ? "DecryptionFailed (wrong context?)" : e.Code.ToString();
                    batch.Failures.Add(Failure(row, i, version, reason, now));
                    Increment(batch.Inventory, version.Value);
                }
            }

            if (updated is not null)
            {
                batch.Updates.Add(new RowUpdate(row.Id, row.Values, updated, row.RowVersion));
                batch.NewVersions.Add(newVersions!);
            }
        }

        return batch;
    }

    private async ValueTask<byte[]> MoveAsync(ReadOnlyMemory<byte> envelope, object id, CancellationToken cancellationToken)
    {
        if (Definition.Mode == RewrapMode.Rewrap)
        {
            return await _service.RewrapAsync(Definition.Key, envelope, cancellationToken).ConfigureAwait(false);
        }

        var context = Context.For(id);
        var plaintext = await _service.DecryptAsync(Definition.Key, envelope, context, cancellationToken).ConfigureAwait(false);
        try
        {
            return await _service.EncryptAsync(Definition.Key, plaintext, context, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>
    /// Reads a stored value: its envelope bytes (for a text value, decoded into
    /// <paramref name="scratch"/>, valid until the next read) and version, or why it cannot be used.
    /// </summary>
    private (ReadOnlyMemory<byte> Envelope, int? Version, string? Problem) Read(ReadOnlyMemory<byte> value, CiphertextFormat format, DecodeBuffer scratch)
    {
        try
        {
            var envelope = format == CiphertextFormat.Text ? scratch.Decode(value.Span) : value;
            return EnvelopeReader.IsUnder(envelope.Span, Definition.Key, out var version)
                ? (envelope, version, null)
                : (default, version, $"under another key ({EnvelopeReader.ReadHeader(envelope.Span).Key})");
        }
        catch (Exception e) when (e is FormatException or ArgumentException or RekeyException)
        {
            return (default, null, "malformed: not a Rekey envelope");
        }
    }

    private static ReadOnlyMemory<byte> Text(byte[] envelope, ByteArena arena)
    {
        var text = arena.Allocate(EnvelopeText.GetUtf8Length(envelope));
        EnvelopeText.EncodeToUtf8(envelope, text);
        return text;
    }

    private async Task<string> VerifyAsync(CancellationToken cancellationToken)
    {
        var total = Math.Max(1, Document.Total * Definition.Source.Columns.Count);
        var every = Definition.Verification == VerificationMode.Full ? 1 : Math.Max(1, total / Math.Max(1, Definition.SampleSize));
        long seen = 0, checkedCount = 0, bad = 0, old = 0;
        object? position = null;
        var failures = new List<RewrapFailureRecord>();
        var now = _time.GetUtcNow();
        using var scratch = new DecodeBuffer();
        while (true)
        {
            using var arena = new ByteArena(_chunks);
            var rows = await _source.ReadAsync(position, Definition.BatchSize, arena, cancellationToken).ConfigureAwait(false);
            if (rows.Count == 0)
            {
                break;
            }

            position = rows[^1].Id;
            foreach (var row in rows)
            {
                for (var i = 0; i < row.Values.Length; i++)
                {
                    if (row.Values[i] is not { } value || seen++ % every != 0)
                    {
                        continue;
                    }

                    checkedCount++;
                    var (envelope, version, problem) = Read(value, Definition.Source.Columns[i].Format, scratch);
                    if (problem is not null)
                    {
                        continue; // already recorded by the pass
                    }

                    if (version < Document.TargetVersion)
                    {
                        old++;
                    }

                    try
                    {
                        var plaintext = await _service.DecryptAsync(Definition.Key, envelope, Context.For(row.Id), cancellationToken).ConfigureAwait(false);
                        CryptographicOperations.ZeroMemory(plaintext);
                    }
                    catch (RekeyException e)
                    {
                        bad++;
                        failures.Add(Failure(row, i, version, "verify: " + e.Code, now));
                    }
                }
            }
        }

        Document.Failed += failures.Count;
        await SaveAsync(failures, null, cancellationToken).ConfigureAwait(false);
        var scope = Definition.Verification == VerificationMode.Full ? "every value" : $"a sample of {checkedCount}";
        return $"verification decrypted {scope}: {checkedCount - bad} ok, {bad} failed, {old} still under older versions";
    }

    private RewrapFailureRecord Failure(SourceRow row, int column, int? version, string reason, DateTimeOffset at) =>
        new(_job.Id, Convert.ToString(row.Id, System.Globalization.CultureInfo.InvariantCulture)!, Definition.Source.Columns[column].Name, version, reason, at);

    /// <summary>Checkpoints the document, renewing the lease; false when the job was paused, cancelled or taken over.</summary>
    private async Task<bool> SaveAsync(IReadOnlyList<RewrapFailureRecord> failures, AuditRecord? audit, CancellationToken cancellationToken, RewrapJobState state = RewrapJobState.Running)
    {
        var now = _time.GetUtcNow();
        var next = _job with
        {
            State = state.ToString(),
            Document = Document.Serialize(),
            LeaseOwner = state == RewrapJobState.Running ? _owner : null,
            LeaseUntil = state == RewrapJobState.Running ? now + _options.LeaseDuration : null,
            UpdatedAt = now,
        };
        if (!await _store.UpdateJobAsync(next, RunningStates, _owner, failures, audit, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        _job = next;
        _progress?.Report(RewrapJobs.StatusOf(_job, Document));
        return true;
    }

    private async Task<RewrapJobState> StoppedStateAsync(CancellationToken cancellationToken)
    {
        var current = await _store.FindJobAsync(_job.Id, cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            return RewrapJobState.Cancelled;
        }

        var state = Enum.Parse<RewrapJobState>(current.State);
        if (state is RewrapJobState.Paused or RewrapJobState.Cancelled)
        {
            // Paused or cancelled while this runner held a batch it had already written: keep that
            // progress, so counts and position are exact, without touching the new state.
            var kept = current with { Document = Document.Serialize(), UpdatedAt = _time.GetUtcNow() };
            if (await _store.UpdateJobAsync(kept, [current.State], null, [], null, cancellationToken).ConfigureAwait(false))
            {
                current = kept;
            }
        }

        _progress?.Report(RewrapJobs.StatusOf(current, RewrapDocument.Parse(current.Document)));
        return state;
    }

    private static void Increment(Dictionary<int, long> counts, int version) => counts[version] = counts.GetValueOrDefault(version) + 1;

    private static void Add(Dictionary<int, long> into, Dictionary<int, long> from)
    {
        foreach (var (version, count) in from)
        {
            into[version] = into.GetValueOrDefault(version) + count;
        }
    }

    /// <summary>A batch as transformed: what to write, what went wrong, and the counts; its arenas hold the values until it is written.</summary>
    private sealed class Batch(ByteArena input, ByteArena output) : IDisposable
    {
        public ByteArena Output => output;

        public int Rows { get; init; }

        public required object LastId { get; init; }

        public List<RowUpdate> Updates { get; } = [];

        public List<RewrapFailureRecord> Failures { get; } = [];

        /// <summary>Per update, the versions its changed values moved to.</summary>
        public List<List<int>> NewVersions { get; } = [];

        public Dictionary<int, long> PerVersion { get; } = [];

        public Dictionary<int, long> Inventory { get; } = [];

        public long Rewrapped { get; set; }

        public long AlreadyCurrent { get; set; }

        public void Dispose()
        {
            input.Dispose();
            output.Dispose();
        }
    }
}
