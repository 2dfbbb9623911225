using System.Collections.Concurrent;
using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Keys;

namespace Rekey.Rewrap.Tests;

/// <summary>Re-wrap jobs on a real table, run unchanged on SQLite and PostgreSQL.</summary>
public abstract class RewrapJobTests : IAsyncLifetime
{
    private static readonly ChangeContext Operator = new("ops", "after quarterly rotation");
    private RewrapHarness _h = null!;

    protected abstract SourceKind Kind { get; }

    public async Task InitializeAsync() => _h = await RewrapHarness.CreateAsync(Kind);

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task Rewrap_MovesEveryValueToTheTargetVersion_DataBytesUntouched_AndRecordsInventory()
    {
        await _h.FillAsync(250);
        await _h.ExecuteAsync($"UPDATE {_h.Table} SET ssn = NULL WHERE id = 7;");
        var before = await _h.ReadAllAsync();
        await _h.Service.RotateAsync(RewrapHarness.Key);

        var started = await _h.Jobs.StartAsync(_h.Definition(batchSize: 40), Operator);
        Assert.Equal(RewrapJobState.Pending, started.State);
        Assert.Equal(2, started.TargetVersion);
        Assert.Equal(250, started.Total);

        var reports = new ConcurrentQueue<RewrapJobStatus>();
        var done = await _h.Jobs.RunAsync(started.Id, "test", new Progress(reports));
        Assert.Equal(RewrapJobState.Completed, done.State);
        Assert.Equal(499, done.Rewrapped);
        Assert.Equal(0, done.Failed);
        Assert.Equal(0, done.Skipped);
        Assert.Equal(250, done.Done);
        Assert.Equal(new Dictionary<int, long> { [1] = 499 }, done.PerVersion);
        Assert.NotEmpty(reports);

        var after = await _h.ReadAllAsync();
        for (var i = 0; i < after.Count; i++)
        {
            var (id, ssn, scan) = after[i];
            Assert.Equal(2, EnvelopeReader.ReadHeader(scan!).Version);
            Assert.Equal(RewrapHarness.PlaintextOf(id, "scan"), await _h.Service.DecryptAsync(RewrapHarness.Key, scan!, RewrapHarness.ContextOf(id)));
            Assert.Equal(DataBytes(before[i].Scan!), DataBytes(scan!));
            if (id == 7)
            {
                Assert.Null(ssn);
                continue;
            }

            Assert.Equal(2, EnvelopeReader.ReadHeader(ssn!).Version);
            Assert.Equal(RewrapHarness.PlaintextOf(id, "ssn"), await _h.Service.DecryptAsync(RewrapHarness.Key, ssn!, RewrapHarness.ContextOf(id)));
        }

        var inventory = await _h.Jobs.GetInventoryAsync(RewrapHarness.Key);
        Assert.Equal([(2, 499L)], inventory.Select(c => (c.Version, c.Count)));
        Assert.DoesNotContain("password", inventory[0].Source, StringComparison.OrdinalIgnoreCase);

        var actions = (await _h.Service.ReadAuditAsync()).Select(e => e.Record.Action).ToList();
        Assert.Contains("rewrap.start", actions);
        Assert.Contains("rewrap.finish", actions);

        // A second job finds nothing to do and leaves the rows as they are.
        var again = await _h.Jobs.RunAsync((await _h.Jobs.StartAsync(_h.Definition(), Operator)).Id, "test");
        Assert.Equal(0, again.Rewrapped);
        Assert.Equal(499, again.AlreadyCurrent);
    }

    [Fact]
    public async Task ConcurrentWriters_NoWriteIsLost_AndEveryRowEndsCurrentOrNewer()
    {
        await _h.FillAsync(600);
        await _h.Service.RotateAsync(RewrapHarness.Key);
        var latest = new ConcurrentDictionary<long, int>();
        using var stop = new CancellationTokenSource();

        async Task WriterAsync(int seed)
        {
            var random = new Random(seed);
            var generation = (seed + 1) * 1_000_000;
            while (!stop.IsCancellationRequested)
            {
                // Each writer owns the ids congruent to its seed, so the last write to a row is its newest.
                var id = (random.Next(0, 200) * 3) + seed + 1;
                generation++;
                var ssn = EnvelopeText.Encode(await _h.Service.EncryptAsync(RewrapHarness.Key, RewrapHarness.PlaintextOf(id, "ssn", generation), RewrapHarness.ContextOf(id)));
                await _h.ExecuteAsync($"UPDATE {_h.Table} SET ssn = @ssn WHERE id = {id};", ("@ssn", ssn));
                latest.AddOrUpdate(id, generation, (_, old) => Math.Max(old, generation));
                await Task.Yield();
            }
        }

        var writers = Enumerable.Range(0, 3).Select(seed => Task.Run(() => WriterAsync(seed))).ToArray();
        try
        {
            var job = await _h.Jobs.StartAsync(_h.Definition(batchSize: 10) with { Concurrency = 3 }, Operator);
            var done = await _h.Jobs.RunAsync(job.Id, "test");
            Assert.Equal(RewrapJobState.Completed, done.State);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(writers);
        }

        Assert.NotEmpty(latest);
        foreach (var (id, ssn, scan) in await _h.ReadAllAsync())
        {
            // Writers only ever wrote under the Active version, so every value is current now.
            Assert.Equal(2, EnvelopeReader.ReadHeader(ssn!).Version);
            Assert.Equal(2, EnvelopeReader.ReadHeader(scan!).Version);
            var expected = latest.TryGetValue(id, out var generation) ? RewrapHarness.PlaintextOf(id, "ssn", generation) : RewrapHarness.PlaintextOf(id, "ssn");
            Assert.Equal(expected, await _h.Service.DecryptAsync(RewrapHarness.Key, ssn!, RewrapHarness.ContextOf(id)));
        }
    }

    [Fact]
    public async Task RowsUnderADestroyedVersion_AreReportedWithTheirIds_AndTheJobFinishes()
    {
        await _h.FillAsync(20);
        await _h.Service.RotateAsync(RewrapHarness.Key);
        await _h.FillAsync(20, firstId: 21);
        await _h.Service.RotateAsync(RewrapHarness.Key);
        await _h.ExecuteAsync($"UPDATE {_h.Table} SET ssn = 'not an envelope' WHERE id = 30;");
        await _h.Service.DisableAsync(RewrapHarness.Key, 1);
        await _h.Service.ScheduleDestroyAsync(RewrapHarness.Key, 1);
        var key = await _h.Service.UpdateKeyAsync(RewrapHarness.Key, new KeyConfigUpdate(TimeSpan.Zero));
        Assert.Equal(TimeSpan.Zero, key.DestructionDelay);
        await _h.Service.CancelDestroyAsync(RewrapHarness.Key, 1);
        await _h.Service.ScheduleDestroyAsync(RewrapHarness.Key, 1);
        await _h.Service.DestroyAsync(RewrapHarness.Key, 1);

        var done = await _h.Jobs.RunAsync((await _h.Jobs.StartAsync(_h.Definition(batchSize: 7), Operator)).Id, "test");
        Assert.Equal(RewrapJobState.Completed, done.State);
        Assert.Equal(41, done.Failed);
        Assert.Equal(39, done.Rewrapped);

        var failures = await _h.Jobs.GetFailuresAsync(done.Id);
        Assert.Equal(41, failures.Count);
        Assert.Equal(40, failures.Count(f => f.Reason == nameof(RekeyErrorCode.KeyDestroyed) && f.Version == 1));
        var malformed = Assert.Single(failures, f => f.Reason.StartsWith("malformed", StringComparison.Ordinal));
        Assert.Equal(("30", "ssn"), (malformed.RecordId, malformed.Column));
        Assert.Contains(failures, f => f.RecordId == "1" && f.Column == "ssn");

        var inventory = (await _h.Jobs.GetInventoryAsync(RewrapHarness.Key)).ToDictionary(c => c.Version, c => c.Count);
        Assert.Equal(new Dictionary<int, long> { [1] = 40, [3] = 39 }, inventory);
        Assert.Contains(await _h.Service.ReadAuditAsync(), e => e.Record.Action == "rewrap.finish" && e.Record.Details!.Contains("41 failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Throttle_AfterFallingBehind_DoesNotBurstToCatchUp()
    {
        await _h.FillAsync(200);
        await _h.Service.RotateAsync(RewrapHarness.Key);
        var clock = new JumpingClock();
        var jobs = new RewrapJobs(_h.Service, (Rekey.Storage.IRewrapJobStore)_h.Store, time: clock);
        var job = await jobs.StartAsync(_h.Definition(batchSize: 10) with { ThrottleRowsPerSecond = 200 }, Operator);
        var run = Task.Run(() => jobs.RunAsync(job.Id, "runner"));
        while ((await jobs.GetStatusAsync(job.Id)).Done < 20)
        {
            await Task.Delay(5);
        }

        // The job's clock jumps a minute, as if its process had been stopped. Counting from its
        // start it is now 12,000 rows behind: it must not run unthrottled to make that up.
        clock.Jump(TimeSpan.FromMinutes(1));
        var jumped = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(RewrapJobState.Completed, (await run).State);

        // At most 180 rows were left; at 200 rows/s (one second's catch-up allowed) that takes about 0.9 s.
        Assert.True(jumped.Elapsed > TimeSpan.FromSeconds(0.6), $"finished {jumped.Elapsed.TotalMilliseconds:F0} ms after the jump");
    }

    [Fact]
    public async Task PauseFromElsewhere_StopsTheRunner_ResumeContinues_CancelEnds()
    {
        await _h.FillAsync(300);
        await _h.Service.RotateAsync(RewrapHarness.Key);
        var job = await _h.Jobs.StartAsync(_h.Definition(batchSize: 10) with { ThrottleRowsPerSecond = 1000 }, Operator);

        var run = Task.Run(() => _h.Jobs.RunAsync(job.Id, "runner-a"));
        while ((await _h.Jobs.GetStatusAsync(job.Id)).Done < 50)
        {
            await Task.Delay(20);
        }

        await _h.Jobs.PauseAsync(job.Id, Operator);
        var paused = await run;
        Assert.Equal(RewrapJobState.Paused, paused.State);
        Assert.InRange(paused.Done, 50, 299);

        var refused = await Assert.ThrowsAsync<RekeyException>(() => _h.Jobs.PauseAsync(job.Id, Operator));
        Assert.Equal(RekeyErrorCode.TransitionNotAllowed, refused.Code);
        Assert.Equal(RewrapJobState.Paused, (await _h.Jobs.RunAsync(job.Id, "runner-b")).State);

        await _h.Jobs.ResumeAsync(job.Id, Operator);
        var done = await _h.Jobs.RunAsync(job.Id, "runner-b");
        Assert.Equal(RewrapJobState.Completed, done.State);
        Assert.Equal(600, done.Rewrapped);
        Assert.All(await _h.ReadAllAsync(), r => Assert.Equal(2, EnvelopeReader.ReadHeader(r.Ssn!).Version));

        var other = await _h.Jobs.StartAsync(_h.Definition(), Operator);
        Assert.Equal(RewrapJobState.Cancelled, (await _h.Jobs.CancelAsync(other.Id, Operator)).State);
        Assert.Equal(RewrapJobState.Cancelled, (await _h.Jobs.RunAsync(other.Id, "runner-b")).State);

        var actions = (await _h.Service.ReadAuditAsync()).Select(e => e.Record.Action).ToList();
        Assert.Contains("rewrap.pause", actions);
        Assert.Contains("rewrap.resume", actions);
        Assert.Contains("rewrap.cancel", actions);
    }

    [Fact]
    public async Task Lease_KeepsASecondRunnerOut_UntilItLapses()
    {
        await _h.FillAsync(5);
        var job = await _h.Jobs.StartAsync(_h.Definition(), Operator);
        var now = DateTimeOffset.UtcNow;
        Assert.True(await ((Storage.IRewrapJobStore)_h.Store).TryLeaseJobAsync(job.Id, "dead-runner", now, now.AddMinutes(5)));
        var e = await Assert.ThrowsAsync<RekeyException>(() => _h.Jobs.RunAsync(job.Id, "runner-b"));
        Assert.Equal(RekeyErrorCode.Conflict, e.Code);
        Assert.Contains("dead-runner", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(job.Id, await _h.Jobs.RunnableAsync());

        // The holder died: once its lease lapses, another runner takes the job over.
        var lapsed = (await ((Storage.IRewrapJobStore)_h.Store).FindJobAsync(job.Id))! with { State = "Running", LeaseUntil = now.AddSeconds(-1) };
        Assert.True(await ((Storage.IRewrapJobStore)_h.Store).UpdateJobAsync(lapsed, ["Pending"], null, [], null));
        Assert.Contains(job.Id, await _h.Jobs.RunnableAsync());
        Assert.Equal(RewrapJobState.Completed, (await _h.Jobs.RunAsync(job.Id, "runner-b")).State);
    }

    [Fact]
    public async Task Reencrypt_GivesNewDataKeys_AndWrongContextsAreRecorded()
    {
        await _h.FillAsync(30);
        var before = await _h.ReadAllAsync();
        await _h.Service.RotateAsync(RewrapHarness.Key);
        var definition = _h.Definition(batchSize: 8) with { Mode = RewrapMode.Reencrypt, Verification = VerificationMode.Full };
        var done = await _h.Jobs.RunAsync((await _h.Jobs.StartAsync(definition, Operator)).Id, "test");
        Assert.Equal(RewrapJobState.Completed, done.State);
        Assert.Equal(60, done.Rewrapped);
        Assert.Contains("60 ok, 0 failed", done.Verification, StringComparison.Ordinal);
        var after = await _h.ReadAllAsync();
        for (var i = 0; i < after.Count; i++)
        {
            Assert.NotEqual(DataBytes(before[i].Scan!), DataBytes(after[i].Scan!));
            Assert.Equal(RewrapHarness.PlaintextOf(after[i].Id, "scan"), await _h.Service.DecryptAsync(RewrapHarness.Key, after[i].Scan!, RewrapHarness.ContextOf(after[i].Id)));
        }

        await _h.Service.RotateAsync(RewrapHarness.Key);
        var wrong = definition with { ContextTemplate = "table=other;id={id}", Verification = VerificationMode.None };
        var failed = await _h.Jobs.RunAsync((await _h.Jobs.StartAsync(wrong, Operator)).Id, "test");
        Assert.Equal(60, failed.Failed);
        Assert.All(await _h.Jobs.GetFailuresAsync(failed.Id), f => Assert.StartsWith("DecryptionFailed", f.Reason, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Reencrypt_WithPairsContexts_MatchesWhatTheApplicationUsed()
    {
        static EncryptionContext Pairs(long id) => EncryptionContext.FromPairs(("table", "patients"), ("id", id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await _h.FillAsync(12, contextOf: Pairs);
        await _h.Service.RotateAsync(RewrapHarness.Key);
        var asText = _h.Definition(batchSize: 5) with { Mode = RewrapMode.Reencrypt };
        var failed = await _h.Jobs.RunAsync((await _h.Jobs.StartAsync(asText, Operator)).Id, "test");
        Assert.Equal(24, failed.Failed);

        var asPairs = asText with { ContextForm = ContextForm.Pairs, Verification = VerificationMode.Full };
        var done = await _h.Jobs.RunAsync((await _h.Jobs.StartAsync(asPairs, Operator)).Id, "test");
        Assert.Equal(RewrapJobState.Completed, done.State);
        Assert.Equal(24, done.Rewrapped);
        Assert.Contains("24 ok, 0 failed", done.Verification, StringComparison.Ordinal);
        foreach (var row in await _h.ReadAllAsync())
        {
            Assert.Equal(RewrapHarness.PlaintextOf(row.Id, "scan"), await _h.Service.DecryptAsync(RewrapHarness.Key, row.Scan!, Pairs(row.Id)));
        }
    }

    [Theory]
    [InlineData("table=patients;id", "not a name=value pair")]
    [InlineData("table=patients;{id}=x", "only in a value")]
    [InlineData("table=patients;table=other;id={id}", "twice")]
    public async Task PairsTemplate_Unusable_IsRefusedAtStart(string template, string expected)
    {
        var definition = _h.Definition() with { Mode = RewrapMode.Reencrypt, ContextTemplate = template, ContextForm = ContextForm.Pairs };
        var error = await Assert.ThrowsAsync<RekeyException>(() => _h.Jobs.StartAsync(definition, Operator));
        Assert.Equal(RekeyErrorCode.InvalidRequest, error.Code);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Empty(await _h.Jobs.ListAsync());
    }

    [Fact]
    public void PairsTemplate_KeepsAnIdWithSeparatorsAsOneValue()
    {
        var template = ContextTemplate.Parse("table=patients;id={id}", ContextForm.Pairs);
        Assert.Equal(EncryptionContext.FromPairs(("table", "patients"), ("id", "5;table=x")), template.For("5;table=x"));
        Assert.NotEqual(template.For("5;table=x"), template.For("5"));

        // The text form cannot tell these apart: that is what the pairs form is for.
        var text = ContextTemplate.Parse("id={id};table=patients", ContextForm.Text);
        Assert.Equal(text.For("5;table=patients"), EncryptionContext.From("id=5;table=patients;table=patients"));
    }

    [Fact]
    public async Task SampleVerification_DecryptsASample_AndFilterLimitsTheRows()
    {
        await _h.FillAsync(90);
        await _h.Service.RotateAsync(RewrapHarness.Key);
        var source = _h.Source() with { FilterColumn = "ward", FilterValue = "w1" };
        var definition = _h.Definition(batchSize: 9, source: source) with { Verification = VerificationMode.Sample, SampleSize = 10 };
        var done = await _h.Jobs.RunAsync((await _h.Jobs.StartAsync(definition, Operator)).Id, "test");
        Assert.Equal(30, done.Done);
        Assert.Equal(60, done.Rewrapped);
        Assert.Matches("a sample of 1[0-9]: 1[0-9] ok, 0 failed, 0 still under older versions", done.Verification);
        var rows = await _h.ReadAllAsync();
        Assert.All(rows, r => Assert.Equal(r.Id % 3 == 1 ? 2 : 1, EnvelopeReader.ReadHeader(r.Ssn!).Version));
    }

    [Fact]
    public async Task TextIds_ArePagedByKeyset_AndEveryRowIsMoved()
    {
        var table = Kind == SourceKind.Sqlite ? "codes" : "app.codes";
        await _h.ExecuteAsync($"CREATE TABLE {table} (code TEXT PRIMARY KEY, secret TEXT);");
        var codes = Enumerable.Range(0, 57).Select(i => $"{(char)('a' + (i % 26))}-{i:D3}").ToList();
        foreach (var code in codes)
        {
            var envelope = EnvelopeText.Encode(await _h.Service.EncryptAsync(RewrapHarness.Key, "s"u8.ToArray(), EncryptionContext.From("code=" + code)));
            await _h.ExecuteAsync($"INSERT INTO {table} (code, secret) VALUES (@c, @s);", ("@c", code), ("@s", envelope));
        }

        await _h.Service.RotateAsync(RewrapHarness.Key);
        var source = new SourceDefinition(Kind, _h.SourceConnection, table, "code", IdKind.Text, [new("secret")]);
        var definition = new RewrapJobDefinition(RewrapHarness.Key, source, BatchSize: 5, Verification: VerificationMode.Full, ContextTemplate: "code={id}");
        var done = await _h.Jobs.RunAsync((await _h.Jobs.StartAsync(definition, Operator)).Id, "test");
        Assert.Equal(RewrapJobState.Completed, done.State);
        Assert.Equal(57, done.Rewrapped);
        Assert.Contains("57 ok, 0 failed, 0 still under older versions", done.Verification, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("patients; DROP TABLE patients", "id", "ssn", null)]
    [InlineData("patients", "id = 1 OR 1=1 --", "ssn", null)]
    [InlineData("patients", "id", "ssn\" = NULL, \"scan", null)]
    [InlineData("patients", "id", "ssn", "ward) OR (1=1")]
    [InlineData("a.b.c", "id", "ssn", null)]
    [InlineData("patients", "id", "1ssn", null)]
    [InlineData("patients", "id", "", null)]
    [InlineData("patients", "id", "id", null)]
    public async Task IdentifierInjection_IsRefused_BeforeAnythingHappens(string table, string idColumn, string column, string? filter)
    {
        await _h.FillAsync(3);
        var source = new SourceDefinition(Kind, _h.SourceConnection, table, idColumn, IdKind.Integer, [new(column)], filter, filter is null ? null : "w1");
        var e = await Assert.ThrowsAsync<RekeyException>(() => _h.Jobs.StartAsync(_h.Definition(source: source), Operator));
        Assert.Equal(RekeyErrorCode.InvalidRequest, e.Code);
        Assert.Empty(await _h.Jobs.ListAsync());
        Assert.Equal(3L, Convert.ToInt64(await _h.ExecuteAsync($"SELECT count(*) FROM {_h.Table};"), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task UnknownTableOrColumn_AndBadLimits_AreClearErrors()
    {
        var noTable = _h.Source() with { Table = "nope" };
        Assert.Equal(RekeyErrorCode.InvalidRequest, (await Assert.ThrowsAsync<RekeyException>(() => _h.Jobs.StartAsync(_h.Definition(source: noTable), Operator))).Code);
        var noColumn = _h.Source(new CiphertextColumn("nope"));
        Assert.Equal(RekeyErrorCode.InvalidRequest, (await Assert.ThrowsAsync<RekeyException>(() => _h.Jobs.StartAsync(_h.Definition(source: noColumn), Operator))).Code);
        Assert.Equal(RekeyErrorCode.InvalidRequest, (await Assert.ThrowsAsync<RekeyException>(() => _h.Jobs.StartAsync(_h.Definition(batchSize: 0), Operator))).Code);
        Assert.Equal(RekeyErrorCode.InvalidRequest, (await Assert.ThrowsAsync<RekeyException>(() => _h.Jobs.StartAsync(_h.Definition() with { Mode = RewrapMode.Reencrypt, ContextTemplate = null }, Operator))).Code);
        Assert.Equal(RekeyErrorCode.KeyNotFound, (await Assert.ThrowsAsync<RekeyException>(() => _h.Jobs.StartAsync(_h.Definition() with { Key = KeyName.Parse("no/such") }, Operator))).Code);
        Assert.Equal(RekeyErrorCode.JobNotFound, (await Assert.ThrowsAsync<RekeyException>(() => _h.Jobs.GetStatusAsync("rw_missing"))).Code);
        Assert.Empty(await _h.Jobs.ListAsync());
    }

    /// <summary>
    /// SIGKILL of the job's process at random moments, 20 times, then a run to the end: every row
    /// decrypts to its original plaintext, none was skipped. <c>REKEY_KILL_TRIALS</c> raises the count
    /// (see scripts/rewrap-kill-loop.sh).
    /// </summary>
    [Fact]
    [Trait("Category", "Race")]
    public async Task KilledAtRandomMoments_ResumesFromItsCheckpoint_AndLosesNothing()
    {
        var trials = int.TryParse(Environment.GetEnvironmentVariable("REKEY_KILL_TRIALS"), out var n) ? n : 20;
        // Enough rows that every trial's kill lands before the job is done.
        var rowCount = Math.Max(3000, trials * 150);
        await _h.FillAsync(rowCount);
        await _h.Service.RotateAsync(RewrapHarness.Key);
        var job = await _h.Jobs.StartAsync(_h.Definition(batchSize: 25) with { ThrottleRowsPerSecond = 400, Concurrency = 3 }, Operator);
        var random = new Random(17);
        var killedMidway = 0;
        for (var trial = 0; trial < trials; trial++)
        {
            using var worker = StartWorker(job.Id);
            Assert.Equal("running", await worker.StandardOutput.ReadLineAsync());
            await Task.Delay(random.Next(50, 400));
            worker.Kill();
            await worker.WaitForExitAsync();
            var status = await _h.Jobs.GetStatusAsync(job.Id);
            if (status.State == RewrapJobState.Completed)
            {
                break;
            }

            killedMidway++;
        }

        Assert.True(killedMidway == trials, $"only {killedMidway} of {trials} kills landed mid-job");
        using (var last = StartWorker(job.Id))
        {
            Assert.Equal("running", await last.StandardOutput.ReadLineAsync());
            Assert.Equal("Completed", await last.StandardOutput.ReadLineAsync());
            await last.WaitForExitAsync();
        }

        var done = await _h.Jobs.GetStatusAsync(job.Id);
        Assert.Equal(0, done.Failed);
        var rows = await _h.ReadAllAsync();
        Assert.Equal(rowCount, rows.Count);
        foreach (var (id, ssn, scan) in rows)
        {
            Assert.Equal(2, EnvelopeReader.ReadHeader(ssn!).Version);
            Assert.Equal(2, EnvelopeReader.ReadHeader(scan!).Version);
            Assert.Equal(RewrapHarness.PlaintextOf(id, "ssn"), await _h.Service.DecryptAsync(RewrapHarness.Key, ssn!, RewrapHarness.ContextOf(id)));
            Assert.Equal(RewrapHarness.PlaintextOf(id, "scan"), await _h.Service.DecryptAsync(RewrapHarness.Key, scan!, RewrapHarness.ContextOf(id)));
        }

        var inventory = await _h.Jobs.GetInventoryAsync(RewrapHarness.Key);
        Assert.Equal([(2, 2L * rowCount)], inventory.Select(c => (c.Version, c.Count)));
    }

    private System.Diagnostics.Process StartWorker(string jobId)
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Rekey.TestWorker.dll"), "rewrap-run", _h.StoreConnection, _h.RootKeyPath, RewrapHarness.Key.Value, jobId })
        {
            start.ArgumentList.Add(a);
        }

        return System.Diagnostics.Process.Start(start)!;
    }

    // The AES-GCM ciphertext and tag: what a re-wrap must leave byte for byte as it was.
    private static byte[] DataBytes(byte[] envelope) => envelope[^(EnvelopeReader.ReadHeader(envelope).DataLength + 16)..];

    private sealed class Progress(ConcurrentQueue<RewrapJobStatus> into) : IProgress<RewrapJobStatus>
    {
        public void Report(RewrapJobStatus value) => into.Enqueue(value);
    }
}

public sealed class SqliteRewrapJobTests : RewrapJobTests
{
    protected override SourceKind Kind => SourceKind.Sqlite;
}

public sealed class PostgresRewrapJobTests : RewrapJobTests
{
    protected override SourceKind Kind => SourceKind.Postgres;
}

/// <summary>Real time plus an offset the test can jump forward.</summary>
internal sealed class JumpingClock : TimeProvider
{
    private long _offsetTicks;

    public override long GetTimestamp() => base.GetTimestamp() + (Interlocked.Read(ref _offsetTicks) * TimestampFrequency / TimeSpan.TicksPerSecond);

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public void Jump(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
}
