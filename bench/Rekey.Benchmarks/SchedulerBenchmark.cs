using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Npgsql;
using NpgsqlTypes;
using Rekey.Access;
using Rekey.Keys;
using Rekey.Lifecycle;
using Rekey.Rewrap;
using Rekey.Root;
using Rekey.Storage;
using Rekey.Storage.Postgres;

namespace Rekey.Benchmarks;

/// <summary>
/// The lifecycle scheduler on PostgreSQL with 100,000 keys (one per tenant) under one policy:
/// (1) the time to find the due keys in one tick when 1% are due (the indexed query, median of
/// 21); (2) scheduled rotations per second, each with its audit events and its rotation record
/// taken to complete, against (baseline, same run) rotations by hand through the service.
/// </summary>
internal static class SchedulerBenchmark
{
    public static async Task<int> RunAsync(bool quick)
    {
        var keys = quick ? 10_000 : 100_000;
        var server = Environment.GetEnvironmentVariable("REKEY_BENCH_PG") ?? Environment.GetEnvironmentVariable("REKEY_TEST_PG");
        if (server is null)
        {
            Console.WriteLine("Scheduler: not measured (set REKEY_BENCH_PG to a PostgreSQL server where a scratch database may be created)");
            return 1;
        }

        var dir = Directory.CreateTempSubdirectory("rekey-bench-sched-").FullName;
        var database = "rekey_bench_" + Guid.NewGuid().ToString("N")[..12];
        await BenchPostgres.ExecuteAsync(server, $"CREATE DATABASE {database};");
        try
        {
            var connection = new NpgsqlConnectionStringBuilder(server) { Database = database }.ConnectionString;
            using var root = LocalRootKeyProvider.CreateKeyFile(Path.Combine(dir, "root.key"));
            await using var store = await PostgresKeyStore.OpenAsync(connection, listen: false);
            // As the server composes it: the inventory of the registered sources beside the service.
            var gate = new InventoryGate(store, store);
            await using var service = new RekeyService(store, root, new RekeyServiceOptions { Inventory = gate });
            var now = DateTimeOffset.UtcNow;
            var due = keys / 100;

            // Keys are loaded in bulk (creating 100,000 through the service would take minutes
            // and measure nothing the scheduler does): 1% activated 91 days ago, the rest a day ago.
            await FillAsync(connection, root.KeyId, keys, due, now);
            await service.CreateKeyAsync(KeyName.Parse("tenants/anchor/k"));
            var policies = new LifecyclePolicies(service, store);
            await policies.SetAsync(KeyPattern.Parse("tenants/*"), new LifecyclePolicy { RotateEvery = TimeSpan.FromDays(90) }, new ChangeContext("bench"));

            // Setting the policy marked every key due; put the schedule where a running system would have it.
            await BenchPostgres.ExecuteAsync(connection, $"""
                UPDATE rekey.key_schedule SET next_due = CASE WHEN key_name LIKE 'tenants/t%' AND key_name < 'tenants/t{due:D7}' THEN {now.AddSeconds(-1).ToUnixTimeMilliseconds()} ELSE {now.AddDays(89).ToUnixTimeMilliseconds()} END;
                """);
            await BenchPostgres.ExecuteAsync(connection, "VACUUM ANALYZE rekey.key_schedule;");

            var lifecycle = (ILifecycleStore)store;
            var found = new List<double>();
            for (var i = 0; i < 21; i++)
            {
                var watch = Stopwatch.StartNew();
                var dueKeys = await lifecycle.GetDueKeysAsync(DateTimeOffset.UtcNow, due);
                found.Add(watch.Elapsed.TotalMilliseconds);
                if (dueKeys.Count != due)
                {
                    throw new InvalidOperationException($"Found {dueKeys.Count} due keys, expected {due}.");
                }
            }

            found.Sort();
            Console.WriteLine($"Scheduler on PostgreSQL, {keys:N0} keys, {due:N0} due ({due * 100 / keys}%):");
            Console.WriteLine($"  find the due keys (indexed query), median of 21: {found[10]:F2} ms   (min {found[0]:F2}, max {found[^1]:F2}; target < 50 ms)");

            // Baseline: the same number of rotations by hand, one after another, on other keys.
            var manual = Stopwatch.StartNew();
            for (var i = 0; i < due; i++)
            {
                await service.RotateAsync(KeyName.Parse($"tenants/t{keys - 1 - i:D7}/k"), change: new ChangeContext("bench"));
            }

            var manualRate = due / manual.Elapsed.TotalSeconds;

            var sources = new DataSources(store, root);
            var rotations = new RotationRecords(store, new RewrapJobs(service, store, sources: sources), gate);
            var options = new LifecycleOptions { BatchSize = due };
            var scheduler = new LifecycleScheduler(service, store, rotations, gate, "bench", options);
            var audited = await CountAuditAsync(connection);
            var tick = Stopwatch.StartNew();
            var looked = await scheduler.TickAsync();
            var seconds = tick.Elapsed.TotalSeconds;
            var events = await CountAuditAsync(connection) - audited;
            var rotated = await ScalarAsync(connection, "SELECT count(*) FROM rekey.rotations WHERE cause = 'periodic' AND phase = 'complete';");
            if (looked != due || rotated != due)
            {
                throw new InvalidOperationException($"The tick looked at {looked} keys and completed {rotated} rotations; expected {due}.");
            }

            Console.WriteLine($"  scheduled rotations, each with its record taken to complete: {due / seconds,8:N0} /s   ({events:N0} audit events, {events / (double)due:F0} per rotation; one tick of {seconds:F2} s)");
            Console.WriteLine($"  (baseline) rotations by hand through the service, same run:  {manualRate,8:N0} /s   (target for the scheduler: >= 200/s)");
            return 0;
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await BenchPostgres.ExecuteAsync(server, $"DROP DATABASE IF EXISTS {database} WITH (FORCE);");
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task FillAsync(string connection, string rootKeyId, int keys, int due, DateTimeOffset now)
    {
        await using var conn = new NpgsqlConnection(connection);
        await conn.OpenAsync();
        var material = new byte[40];
        await using (var writer = await conn.BeginBinaryImportAsync("COPY rekey.keys (name, created_at, min_decryption_version, destruction_delay_ms, deletion_allowed) FROM STDIN (FORMAT BINARY);"))
        {
            for (var i = 0; i < keys; i++)
            {
                await writer.WriteRowAsync(default, $"tenants/t{i:D7}/k", now.AddDays(-100).ToUnixTimeMilliseconds(), 1, 86_400_000L, false);
            }

            await writer.CompleteAsync();
        }

        await using (var writer = await conn.BeginBinaryImportAsync("COPY rekey.key_versions (key_name, version, state, material, root_key_id, created_at, activated_at) FROM STDIN (FORMAT BINARY);"))
        {
            for (var i = 0; i < keys; i++)
            {
                // Opaque bytes stand in for wrapped material: the scheduler never unwraps an old version.
                RandomNumberGenerator.Fill(material);
                var activated = (i < due ? now.AddDays(-91) : now.AddDays(-1)).ToUnixTimeMilliseconds();
                await writer.WriteRowAsync(default, $"tenants/t{i:D7}/k", 1, "Active", material, rootKeyId, activated, activated);
            }

            await writer.CompleteAsync();
        }

        await using (var writer = await conn.BeginBinaryImportAsync("COPY rekey.key_schedule (key_name, next_due, generation) FROM STDIN (FORMAT BINARY);"))
        {
            for (var i = 0; i < keys; i++)
            {
                await writer.StartRowAsync();
                await writer.WriteAsync($"tenants/t{i:D7}/k", NpgsqlDbType.Text);
                await writer.WriteAsync(now.ToUnixTimeMilliseconds(), NpgsqlDbType.Bigint);
                await writer.WriteAsync(0L, NpgsqlDbType.Bigint);
            }

            await writer.CompleteAsync();
        }
    }

    private static Task<long> CountAuditAsync(string connection) => ScalarAsync(connection, "SELECT count(*) FROM rekey.audit_events;");

    private static async Task<long> ScalarAsync(string connection, string sql)
    {
        await using var conn = new NpgsqlConnection(connection);
        await conn.OpenAsync();
        await using var command = new NpgsqlCommand(sql, conn);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }
}
