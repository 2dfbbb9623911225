using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;
using Rekey.Envelope;
using Rekey.Keys;
using Rekey.Rewrap;
using Rekey.Root;
using Rekey.Storage;
using Rekey.Storage.Postgres;
using Rekey.Storage.Sqlite;
using SQLitePCL;

namespace Rekey.Benchmarks;

/// <summary>
/// Re-wrap jobs against same-run baselines, on a table of (bigint id, ciphertext of a 256-byte record):
/// (a) the database's own write limit: the same column bulk-updated with no crypto (PostgreSQL: binary
/// COPY into a temporary table, then one UPDATE ... FROM; SQLite: prepared updates, a commit per batch, each value with one byte changed);
/// (b) the Rekey job, unthrottled; (c) on PostgreSQL, the naive way: one UPDATE per row, batches of 100,
/// 100 ms sleep between batches, on 20,000 rows. The job runs in a child process so its peak memory
/// (VmHWM) is its own. Also: a concurrent application's p99 latency with and without a throttled job.
/// </summary>
internal static class RewrapBenchmark
{
    private const int RecordBytes = 256;
    private static readonly KeyName Key = KeyName.Parse("bench/records");

    public static async Task<int> RunAsync(bool quick, string[] args)
    {
        var rows = quick ? 100_000 : 1_000_000;
        var large = args.Contains("--large") ? 5_000_000 : 0;

        // --rounds N: how many times (a) and (b) alternate on PostgreSQL (medians compared).
        var rounds = Array.IndexOf(args, "--rounds") is var r and >= 0 && r + 1 < args.Length ? int.Parse(args[r + 1], CultureInfo.InvariantCulture) : quick ? 1 : 3;
        var dir = Directory.CreateTempSubdirectory("rekey-bench-rewrap-").FullName;
        try
        {
            // --only postgres | --only sqlite measures one store.
            var only = Array.IndexOf(args, "--only") is var at and >= 0 && at + 1 < args.Length ? args[at + 1] : null;
            var server = Environment.GetEnvironmentVariable("REKEY_BENCH_PG") ?? Environment.GetEnvironmentVariable("REKEY_TEST_PG");
            if (only == "sqlite")
            {
            }
            else if (server is null)
            {
                Console.WriteLine("PostgreSQL: not measured (set REKEY_BENCH_PG to a server where a scratch database may be created)");
            }
            else
            {
                await PostgresAsync(server, dir, rows, large, rounds);
            }

            if (only != "postgres")
            {
                await SqliteAsync(dir, rows);
            }

            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The child process: runs one job and prints its final state and peak memory.</summary>
    public static async Task<int> RunJobAsync(string[] args)
    {
        var (store, rootPath, jobId) = (args[1], args[2], args[3]);
        await using IKeyStore keys = PostgresConnectionString.IsPostgres(store)
            ? await PostgresKeyStore.OpenAsync(store, listen: false)
            : await SqliteKeyStore.OpenAsync(store, changePollInterval: TimeSpan.Zero);
        using var root = LocalRootKeyProvider.OpenKeyFile(rootPath);
        await using var service = new RekeyService(keys, root);
        var run = Stopwatch.StartNew();
        var status = await new RewrapJobs(service, (IRewrapJobStore)keys).RunAsync(jobId, "bench");
        var runSeconds = run.Elapsed.TotalSeconds;
        var peak = File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        var cpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        Console.WriteLine($"{status.State} {status.Rewrapped} {cpu.ToString("F2", CultureInfo.InvariantCulture)} {runSeconds.ToString("F3", CultureInfo.InvariantCulture)} {peak.Split(':')[1].Trim()}");
        Console.Error.WriteLine($"    job process: allocated {GC.GetTotalAllocatedBytes() / 1e9:F2} GB, GC pauses {GC.GetTotalPauseDuration().TotalSeconds:F2} s, collections {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} (gen0/1/2)");
        return 0;
    }

    private static async Task PostgresAsync(string server, string dir, int rows, int large, int rounds)
    {
        var database = "rekey_bench_" + Guid.NewGuid().ToString("N")[..12];
        await BenchPostgres.ExecuteAsync(server, $"CREATE DATABASE {database};");
        try
        {
            var connection = new NpgsqlConnectionStringBuilder(server) { Database = database, CommandTimeout = 0 }.ConnectionString;
            var rootPath = Path.Combine(dir, "root-pg.key");
            LocalRootKeyProvider.CreateKeyFile(rootPath).Dispose();
            Console.WriteLine($"PostgreSQL, {rows:N0} rows of (bigint id, text ciphertext of a {RecordBytes}-byte record):");
            await PgFillAsync(connection, rootPath, "bench", rows, rotateAfter: true);

            // The database's limit is the fastest raw method here (no crypto in any): one COPY and
            // one UPDATE for the whole table; batches of 5,000 rows joined from arrays; the same with
            // the next read overlapping each write. The last, the fastest, and the job alternate
            // for a few rounds and the medians are compared: on this shared machine one run of either
            // can be 20% off the next.
            var a1 = await PgRawUpdateAsync(connection, "bench", rows);
            await BenchPostgres.ExecuteAsync(connection, "VACUUM ANALYZE bench;");
            var a2 = await PgRawBatchedUpdateAsync(connection, "bench", 5000, overlapped: false);
            await BenchPostgres.ExecuteAsync(connection, "VACUUM ANALYZE bench;");
            var a3s = new List<double>();
            var jobs = new List<(double Rate, string Peak, string Cores, double WithStart)>();
            for (var round = 0; round < rounds; round++)
            {
                a3s.Add(await PgRawBatchedUpdateAsync(connection, "bench", 5000, overlapped: true));
                await BenchPostgres.ExecuteAsync(connection, "VACUUM ANALYZE bench;");
                if (round > 0)
                {
                    await RotateAsync(connection, rootPath);
                }

                jobs.Add(await JobAsync(connection, rootPath, SourceKind.Postgres, connection, "bench", 0));
                await BenchPostgres.ExecuteAsync(connection, "VACUUM ANALYZE bench;");
                Console.WriteLine($"  round {round + 1}: raw overlapped {a3s[^1]:N0} rows/s, job {jobs[^1].Rate:N0} rows/s -> {jobs[^1].Rate / a3s[^1]:F2}");
            }

            var a3 = Median(a3s);
            var a = Math.Max(a1, Math.Max(a2, a3));
            var (b, peak, cores, withStart) = jobs.OrderBy(j => j.Rate).ElementAt(jobs.Count / 2);

            const int naiveRows = 20_000;
            await PgFillAsync(connection, rootPath, "naive", naiveRows, rotateAfter: false, keyExists: true, olderVersion: true);
            var c = await PgNaiveAsync(connection, rootPath, "naive", naiveRows);

            Console.WriteLine($"  (a) raw bulk update, no crypto: one COPY + UPDATE FROM {a1,11:N0} rows/s; batches of 5,000 via unnest {a2:N0} rows/s; the same with the next read overlapping each write {a3:N0} rows/s (median of {rounds}); the fastest counts");
            Console.WriteLine($"  (b) Rekey re-wrap job, unthrottled (median of {rounds}) {b,12:N0} rows/s   ({withStart:N0} counting the process's start) peak memory {peak}, job process CPU {cores} cores of {Environment.ProcessorCount}");
            Console.WriteLine($"  (c) naive: UPDATE per row, 100 per batch, 100 ms sleep {c,11:N0} rows/s   (20,000 rows; 1,000,000 would take {1_000_000 / c / 60:N0} min)");
            Console.WriteLine($"  b/a = {b / a:F2} (target >= 0.8)   b/c = {b / c:N0} (target >= 50)");

            await PgLatencyAsync(connection, rootPath, rows);

            if (large > 0)
            {
                await BenchPostgres.ExecuteAsync(connection, "DROP TABLE bench;");
                await PgFillAsync(connection, rootPath, "bench", large, rotateAfter: true, keyExists: true);
                var (rate, largePeak, _, _) = await JobAsync(connection, rootPath, SourceKind.Postgres, connection, "bench", 0);
                Console.WriteLine($"  {large:N0} rows: job {rate:N0} rows/s, peak memory {largePeak} (against {peak} for {rows:N0})");
            }
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await BenchPostgres.ExecuteAsync(server, $"DROP DATABASE IF EXISTS {database} WITH (FORCE);");
        }
    }

    private static async Task SqliteAsync(string dir, int rows)
    {
        var store = Path.Combine(dir, "rekey.db");
        var app = Path.Combine(dir, "app.db");
        var rootPath = Path.Combine(dir, "root-sqlite.key");
        LocalRootKeyProvider.CreateKeyFile(rootPath).Dispose();
        Console.WriteLine($"SQLite, {rows:N0} rows:");
        await using (var keys = await SqliteKeyStore.OpenAsync(store, changePollInterval: TimeSpan.Zero))
        using (var root = LocalRootKeyProvider.OpenKeyFile(rootPath))
        await using (var service = new RekeyService(keys, root))
        {
            await service.CreateKeyAsync(Key);
            await using var connection = new SqliteConnection($"Data Source={app};Pooling=False");
            await connection.OpenAsync();
            await using (var pragma = connection.CreateCommand())
            {
                pragma.CommandText = "PRAGMA journal_mode=WAL; CREATE TABLE bench (id INTEGER PRIMARY KEY, ct TEXT NOT NULL);";
                await pragma.ExecuteNonQueryAsync();
            }

            await using var transaction = connection.BeginTransaction();
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO bench (id, ct) VALUES ($id, $ct);";
            var id = insert.Parameters.Add("$id", SqliteType.Integer);
            var ct = insert.Parameters.Add("$ct", SqliteType.Text);
            var record = new byte[RecordBytes];
            for (var i = 1; i <= rows; i++)
            {
                id.Value = i;
                ct.Value = EnvelopeText.Encode(await service.EncryptAsync(Key, record, EncryptionContext.From("id=" + i)));
                await insert.ExecuteNonQueryAsync();
            }

            await transaction.CommitAsync();
            await service.RotateAsync(Key);
        }

        // A job commits every batch durably, so it can resume where it stopped; the baseline does
        // the same work without crypto: the fastest raw update (the C API on UTF-8 bytes, as the
        // job itself uses) committing once per batch of the job's batch size, with the database's
        // same synchronous setting. One transaction for everything is not the same work; its
        // figures are printed beside, for information.
        //
        // The baselines write each value with one byte changed, as a re-wrap changes every value:
        // SQLite skips writing a cell whose new content equals the old (same size, same bytes),
        // so writing values back unchanged dirties no page and measures reads and commits only.
        // They run on a copy of the table, so the job still finds its ciphertexts.
        var copy = Path.Combine(dir, "app-raw.db");
        File.Copy(app, copy);
        var batch = JobBatchSize();
        var a = SqliteRawCApiUpdate(copy, batch);
        var oneTransactionAdo = await SqliteRawUpdateAsync(copy);
        var oneTransactionCApi = SqliteRawCApiUpdate(copy, null);
        var unchanged = SqliteRawCApiUpdate(copy, batch, changeBytes: false);
        File.Delete(copy);
        var (b, peak, cores, withStart) = await JobAsync(store, rootPath, SourceKind.Sqlite, app, "bench", 0, batch);
        Console.WriteLine($"  (a) raw update, no crypto, C API on bytes, a commit per {batch:N0} rows {a,10:N0} rows/s   (for information: one transaction for all, ADO.NET {oneTransactionAdo:N0}, C API {oneTransactionCApi:N0} rows/s; values written back unchanged, which SQLite does not write, {unchanged:N0} rows/s)");
        Console.WriteLine($"  (b) Rekey re-wrap job, unthrottled, batches of {batch:N0}             {b,10:N0} rows/s   ({withStart:N0} counting the process's start) peak memory {peak}, CPU {cores} cores of {Environment.ProcessorCount}");
        Console.WriteLine($"  b/a = {b / a:F2} (target >= 0.8)");
    }

    /// <summary>
    /// Runs a job in a child process. The rate is over the job's run (RewrapJobs.RunAsync, as the
    /// job's own status counts it); the rate counting the process's start (runtime, JIT, opening
    /// the store) is returned too. CPU is the process's, over its whole life.
    /// </summary>
    private static async Task<(double RowsPerSecond, string Peak, string Cpu, double WithStart)> JobAsync(string store, string rootPath, SourceKind kind, string source, string table, int throttle, int? batch = null)
    {
        var watch = Stopwatch.StartNew();
        using var child = await StartJobProcessAsync(store, rootPath, kind, source, table, throttle, batch);
        var line = await child.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("The job process died.");
        await child.WaitForExitAsync();
        var seconds = watch.Elapsed.TotalSeconds;
        var parts = line.Split(' ', 5);
        if (parts[0] != "Completed")
        {
            throw new InvalidOperationException("The job did not complete: " + line);
        }

        // The job process's own CPU, in cores over the run: what it takes from the database's share.
        var cores = double.Parse(parts[2], CultureInfo.InvariantCulture) / seconds;
        var rows = long.Parse(parts[1], CultureInfo.InvariantCulture);
        return (rows / double.Parse(parts[3], CultureInfo.InvariantCulture), parts[4], cores.ToString("F2", CultureInfo.InvariantCulture), rows / seconds);
    }

    /// <summary>Creates a job (in this process) and starts a child process that runs it.</summary>
    private static async Task<Process> StartJobProcessAsync(string store, string rootPath, SourceKind kind, string source, string table, int throttle, int? batch)
    {
        string id;
        await using (var keys = kind == SourceKind.Postgres ? (IKeyStore)await PostgresKeyStore.OpenAsync(store, listen: false) : await SqliteKeyStore.OpenAsync(store, changePollInterval: TimeSpan.Zero))
        using (var root = LocalRootKeyProvider.OpenKeyFile(rootPath))
        await using (var service = new RekeyService(keys, root))
        {
            // REKEY_BENCH_CONCURRENCY tries other numbers of batches transformed at once (default 2).
            var size = batch ?? JobBatchSize();
            var definition = new RewrapJobDefinition(Key, new SourceDefinition(kind, source, table, "id", IdKind.Integer, [new CiphertextColumn("ct")]), BatchSize: size, ThrottleRowsPerSecond: throttle, Concurrency: int.TryParse(Environment.GetEnvironmentVariable("REKEY_BENCH_CONCURRENCY"), out var c) ? c : 2);
            id = (await new RewrapJobs(service, (IRewrapJobStore)keys).StartAsync(definition, new ChangeContext("bench"))).Id;
        }

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { typeof(RewrapBenchmark).Assembly.Location, "rewrap-job", store, rootPath, id })
        {
            start.ArgumentList.Add(a);
        }

        return Process.Start(start)!;
    }

    private static async Task PgFillAsync(string connection, string rootPath, string table, int rows, bool rotateAfter, bool keyExists = false, bool olderVersion = false)
    {
        await using var keys = await PostgresKeyStore.OpenAsync(connection, listen: false);
        using var root = LocalRootKeyProvider.OpenKeyFile(rootPath);
        await using var service = new RekeyService(keys, root);
        if (!keyExists)
        {
            await service.CreateKeyAsync(Key);
        }

        await BenchPostgres.ExecuteAsync(connection, $"CREATE TABLE {table} (id bigint PRIMARY KEY, ct text NOT NULL);");
        await using var dataSource = NpgsqlDataSource.Create(connection);
        await using var conn = await dataSource.OpenConnectionAsync();
        var record = new byte[RecordBytes];
        var versions = await service.ListVersionsAsync(Key);
        await using (var writer = await conn.BeginBinaryImportAsync($"COPY {table} (id, ct) FROM STDIN (FORMAT BINARY);"))
        {
            for (var i = 1; i <= rows; i++)
            {
                var envelope = await service.EncryptAsync(Key, record, EncryptionContext.From("id=" + i));
                await writer.StartRowAsync();
                await writer.WriteAsync((long)i, NpgsqlDbType.Bigint);
                await writer.WriteAsync(EnvelopeText.Encode(envelope), NpgsqlDbType.Text);
            }

            await writer.CompleteAsync();
        }

        if (olderVersion || rotateAfter)
        {
            await service.RotateAsync(Key);
        }

        await BenchPostgres.ExecuteAsync(connection, $"VACUUM ANALYZE {table};");
    }

    private static async Task<double> PgRawUpdateAsync(string connection, string table, int rows)
    {
        await using var dataSource = NpgsqlDataSource.Create(connection);
        await using var conn = await dataSource.OpenConnectionAsync();
        var watch = Stopwatch.StartNew();
        await using var transaction = await conn.BeginTransactionAsync();
        await using (var create = new NpgsqlCommand("CREATE TEMP TABLE raw (id bigint, ct text) ON COMMIT DROP;", conn))
        {
            await create.ExecuteNonQueryAsync();
        }

        // Read every value and write it back unchanged: the same bytes in and out, no crypto.
        var ids = new long[rows];
        var values = new string[rows];
        var n = 0;
        await using (var reader = await conn.BeginBinaryExportAsync($"COPY {table} (id, ct) TO STDOUT (FORMAT BINARY);"))
        {
            while (await reader.StartRowAsync() != -1)
            {
                ids[n] = await reader.ReadAsync<long>(NpgsqlDbType.Bigint);
                values[n++] = await reader.ReadAsync<string>(NpgsqlDbType.Text);
            }
        }

        await using (var writer = await conn.BeginBinaryImportAsync("COPY raw (id, ct) FROM STDIN (FORMAT BINARY);"))
        {
            for (var i = 0; i < n; i++)
            {
                await writer.StartRowAsync();
                await writer.WriteAsync(ids[i], NpgsqlDbType.Bigint);
                await writer.WriteAsync(values[i], NpgsqlDbType.Text);
            }

            await writer.CompleteAsync();
        }

        await using (var update = new NpgsqlCommand($"UPDATE {table} AS t SET ct = r.ct FROM raw AS r WHERE t.id = r.id;", conn))
        {
            await update.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        return n / watch.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Keyset batches read and written back unchanged through <c>unnest</c>; overlapped, the next
    /// batch is read on a second connection while the current one is written (the job's own I/O
    /// pattern, without the crypto).
    /// </summary>
    private static async Task<double> PgRawBatchedUpdateAsync(string connection, string table, int batch, bool overlapped)
    {
        await using var dataSource = NpgsqlDataSource.Create(connection);
        var watch = Stopwatch.StartNew();
        long total = 0;
        var next = PgReadBatchAsync(dataSource, table, 0, batch);
        while (true)
        {
            var (ids, values) = await next;
            if (ids.Length == 0)
            {
                break;
            }

            next = overlapped ? PgReadBatchAsync(dataSource, table, ids[^1], batch) : null;
            await using (var update = dataSource.CreateCommand($"UPDATE {table} AS t SET ct = b.ct FROM unnest($1::bigint[], $2::text[]) AS b (id, ct) WHERE t.id = b.id;"))
            {
                update.Parameters.AddWithValue(ids);
                update.Parameters.AddWithValue(values);
                await update.ExecuteNonQueryAsync();
            }

            next ??= PgReadBatchAsync(dataSource, table, ids[^1], batch);
            total += ids.Length;
        }

        return total / watch.Elapsed.TotalSeconds;
    }

    private static async Task<(long[] Ids, string[] Values)> PgReadBatchAsync(NpgsqlDataSource dataSource, string table, long after, int batch)
    {
        var ids = new List<long>(batch);
        var values = new List<string>(batch);
        await using var select = dataSource.CreateCommand($"SELECT id, ct FROM {table} WHERE id > $1 ORDER BY id LIMIT $2;");
        select.Parameters.AddWithValue(after);
        select.Parameters.AddWithValue(batch);
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetInt64(0));
            values.Add(reader.GetString(1));
        }

        return (ids.ToArray(), values.ToArray());
    }

    private static async Task<double> PgNaiveAsync(string connection, string rootPath, string table, int rows)
    {
        await using var keys = await PostgresKeyStore.OpenAsync(connection, listen: false);
        using var root = LocalRootKeyProvider.OpenKeyFile(rootPath);
        await using var service = new RekeyService(keys, root);
        await using var dataSource = NpgsqlDataSource.Create(connection);
        var watch = Stopwatch.StartNew();
        for (var start = 1; start <= rows; start += 100)
        {
            await using var conn = await dataSource.OpenConnectionAsync();
            await using var select = new NpgsqlCommand($"SELECT id, ct FROM {table} WHERE id >= $1 AND id < $2 ORDER BY id;", conn);
            select.Parameters.AddWithValue((long)start);
            select.Parameters.AddWithValue((long)start + 100);
            var batch = new List<(long, string)>();
            await using (var reader = await select.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    batch.Add((reader.GetInt64(0), reader.GetString(1)));
                }
            }

            foreach (var (id, ct) in batch)
            {
                var moved = EnvelopeText.Encode(await service.RewrapAsync(Key, EnvelopeText.Decode(ct)));
                await using var update = new NpgsqlCommand($"UPDATE {table} SET ct = $1 WHERE id = $2;", conn);
                update.Parameters.AddWithValue(moved);
                update.Parameters.AddWithValue(id);
                await update.ExecuteNonQueryAsync();
            }

            await Task.Delay(100);
        }

        return rows / watch.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// An application's single-row read-modify-write latency, p99, alone and beside a throttled
    /// job. The job's process is stopped and continued (SIGSTOP, SIGCONT) so windows with and
    /// without it alternate: this machine's drift over a minute is larger than the effect measured.
    /// </summary>
    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static async Task RotateAsync(string connection, string rootPath)
    {
        await using var keys = await PostgresKeyStore.OpenAsync(connection, listen: false);
        using var root = LocalRootKeyProvider.OpenKeyFile(rootPath);
        await using var service = new RekeyService(keys, root);
        await service.RotateAsync(Key);
    }

    private static async Task PgLatencyAsync(string connection, string rootPath, int rows)
    {
        await BenchPostgres.ExecuteAsync(connection, "CREATE TABLE app_load (id bigint PRIMARY KEY, n bigint NOT NULL); INSERT INTO app_load SELECT g, 0 FROM generate_series(1, 10000) g;");
        await RotateAsync(connection, rootPath);

        const int throttle = 5_000;
        const int rounds = 6;
        var window = TimeSpan.FromSeconds(2.5);
        await using var dataSource = NpgsqlDataSource.Create(connection);
        using var job = await StartJobProcessAsync(connection, rootPath, SourceKind.Postgres, connection, "bench", throttle, 100);

        // Let the job start (runtime, JIT, first batches) before measuring its steady effect.
        await Task.Delay(2000);
        await SignalAsync(job, "STOP");
        var alone = new List<double>();
        var beside = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            alone.AddRange(await LoadLatenciesAsync(dataSource, window));
            await SignalAsync(job, "CONT");
            await Task.Delay(300);
            beside.AddRange(await LoadLatenciesAsync(dataSource, window));
            await SignalAsync(job, "STOP");
            await Task.Delay(300);
        }

        job.Kill();
        await job.WaitForExitAsync();
        var (p99Alone, p99Beside) = (P99(alone), P99(beside));
        Console.WriteLine($"  application p99 latency (update + read of one row, 200/s; {rounds} alternating {window.TotalSeconds:F1} s windows each): alone {p99Alone:F2} ms, beside a job throttled to {throttle:N0} rows/s {p99Beside:F2} ms -> {p99Beside / p99Alone:F2}x (target <= 2x)");
    }

    private static async Task SignalAsync(Process process, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    private static double P99(List<double> latencies)
    {
        latencies.Sort();
        return latencies[(int)(latencies.Count * 0.99)];
    }

    /// <summary>One single-row update every 5 ms for the window; each request's latency in ms.</summary>
    private static async Task<List<double>> LoadLatenciesAsync(NpgsqlDataSource dataSource, TimeSpan window)
    {
        var latencies = new List<double>();
        var random = new Random(1);
        var watch = Stopwatch.StartNew();
        var next = TimeSpan.Zero;
        while (watch.Elapsed < window)
        {
            next += TimeSpan.FromMilliseconds(5);
            var wait = next - watch.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            var started = Stopwatch.GetTimestamp();
            await using var conn = await dataSource.OpenConnectionAsync();
            await using var update = new NpgsqlCommand("UPDATE app_load SET n = n + 1 WHERE id = $1 RETURNING n;", conn);
            update.Parameters.AddWithValue((long)random.Next(1, 10001));
            await update.ExecuteScalarAsync();
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        return latencies;
    }

    // REKEY_BENCH_BATCH tries other batch sizes; 5,000 measured best here.
    private static int JobBatchSize() => int.TryParse(Environment.GetEnvironmentVariable("REKEY_BENCH_BATCH"), out var size) ? size : 5000;

    /// <summary>
    /// Rewrites every value with its middle byte changed (or unchanged): in one transaction, or
    /// committing every <paramref name="batchSize"/> rows.
    /// </summary>
    private static double SqliteRawCApiUpdate(string path, int? batchSize, bool changeBytes = true)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        var db = connection.Handle!;
        var watch = Stopwatch.StartNew();
        var ids = new List<long>();
        var values = new List<byte[]>();
        Check(db, raw.sqlite3_prepare_v2(db, "SELECT id, ct FROM bench ORDER BY id;", out var select));
        using (select)
        {
            while (raw.sqlite3_step(select) == raw.SQLITE_ROW)
            {
                ids.Add(raw.sqlite3_column_int64(select, 0));
                var value = raw.sqlite3_column_blob(select, 1).ToArray();
                if (changeBytes)
                {
                    value[value.Length / 2] ^= 1;
                }

                values.Add(value);
            }
        }

        Check(db, raw.sqlite3_exec(db, "BEGIN;"));
        Check(db, raw.sqlite3_prepare_v2(db, "UPDATE bench SET ct = ?2 WHERE id = ?1;", out var update));
        using (update)
        {
            for (var i = 0; i < ids.Count; i++)
            {
                raw.sqlite3_bind_int64(update, 1, ids[i]);
                raw.sqlite3_bind_text(update, 2, values[i].AsSpan());
                if (raw.sqlite3_step(update) != raw.SQLITE_DONE)
                {
                    throw new InvalidOperationException(raw.sqlite3_errmsg(db).utf8_to_string());
                }

                raw.sqlite3_reset(update);
                if (batchSize is { } size && (i + 1) % size == 0 && i + 1 < ids.Count)
                {
                    Check(db, raw.sqlite3_exec(db, "COMMIT;"));
                    Check(db, raw.sqlite3_exec(db, "BEGIN;"));
                }
            }
        }

        Check(db, raw.sqlite3_exec(db, "COMMIT;"));
        return ids.Count / watch.Elapsed.TotalSeconds;
    }

    private static void Check(sqlite3 db, int result)
    {
        if (result != raw.SQLITE_OK)
        {
            throw new InvalidOperationException(raw.sqlite3_errmsg(db).utf8_to_string());
        }
    }

    private static async Task<double> SqliteRawUpdateAsync(string path)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        var watch = Stopwatch.StartNew();
        var rows = new List<(long, string)>();
        await using (var select = connection.CreateCommand())
        {
            select.CommandText = "SELECT id, ct FROM bench ORDER BY id;";
            await using var reader = await select.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var value = reader.GetString(1).ToCharArray();
                value[value.Length / 2] ^= (char)1;
                rows.Add((reader.GetInt64(0), new string(value)));
            }
        }

        await using var transaction = connection.BeginTransaction();
        await using var update = connection.CreateCommand();
        update.Transaction = transaction;
        update.CommandText = "UPDATE bench SET ct = $ct WHERE id = $id;";
        var id = update.Parameters.Add("$id", SqliteType.Integer);
        var ct = update.Parameters.Add("$ct", SqliteType.Text);
        update.Prepare();
        foreach (var (i, c) in rows)
        {
            id.Value = i;
            ct.Value = c;
            await update.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        return rows.Count / watch.Elapsed.TotalSeconds;
    }
}
