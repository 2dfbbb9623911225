using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Rekey.Keys;
using Rekey.Root;
using Rekey.Storage;
using Rekey.Storage.Postgres;
using Rekey.Storage.Sqlite;

namespace Rekey.Benchmarks;

/// <summary>
/// Rotations per second on each store: one caller rotating in a loop, and 16 callers (each with
/// its own store instance, as 16 servers would) racing on the same key. PostgreSQL runs when
/// REKEY_BENCH_PG (or REKEY_TEST_PG) names a server where a scratch database may be created.
/// </summary>
internal static class RotationBenchmark
{
    private const int Racers = 16;

    public static async Task<int> RunAsync(bool quick)
    {
        var rotations = quick ? 160 : 1600;
        var dir = Directory.CreateTempSubdirectory("rekey-bench-rot-").FullName;
        try
        {
            using var root = LocalRootKeyProvider.CreateKeyFile(Path.Combine(dir, "root.key"));
            var sqlite = Path.Combine(dir, "rekey.db");
            await ReportAsync("SQLite", () => OpenSqliteAsync(sqlite), root, rotations);

            var server = Environment.GetEnvironmentVariable("REKEY_BENCH_PG") ?? Environment.GetEnvironmentVariable("REKEY_TEST_PG");
            if (server is null)
            {
                Console.WriteLine("PostgreSQL: not measured (set REKEY_BENCH_PG to a server where a scratch database may be created)");
                return 0;
            }

            var database = "rekey_bench_" + Guid.NewGuid().ToString("N")[..12];
            await BenchPostgres.ExecuteAsync(server, $"CREATE DATABASE {database};");
            try
            {
                var connection = new NpgsqlConnectionStringBuilder(server) { Database = database }.ConnectionString;
                await ReportAsync("PostgreSQL", async () => await PostgresKeyStore.OpenAsync(connection, listen: false), root, rotations);
            }
            finally
            {
                NpgsqlConnection.ClearAllPools();
                await BenchPostgres.ExecuteAsync(server, $"DROP DATABASE IF EXISTS {database} WITH (FORCE);");
            }

            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<IKeyStore> OpenSqliteAsync(string path) => await SqliteKeyStore.OpenAsync(path, changePollInterval: TimeSpan.Zero);

    private static async Task ReportAsync(string label, Func<Task<IKeyStore>> open, LocalRootKeyProvider root, int rotations)
    {
        var single = KeyName.Parse("bench/single");
        var raced = KeyName.Parse("bench/raced");
        var stores = new List<IKeyStore>();
        var services = new List<RekeyService>();
        for (var i = 0; i < Racers; i++)
        {
            var store = await open();
            stores.Add(store);
            services.Add(new RekeyService(store, root));
        }

        await services[0].CreateKeyAsync(single);
        await services[0].CreateKeyAsync(raced);

        var watch = Stopwatch.StartNew();
        for (var i = 0; i < rotations; i++)
        {
            await services[0].RotateAsync(single);
        }

        var one = rotations / watch.Elapsed.TotalSeconds;

        watch.Restart();
        await Task.WhenAll(services.Select(s => Task.Run(async () =>
        {
            for (var i = 0; i < rotations / Racers; i++)
            {
                await s.RotateAsync(raced);
            }
        })));
        var sixteen = rotations / Racers * Racers / watch.Elapsed.TotalSeconds;
        var latest = (await services[0].GetKeyAsync(raced)).LatestVersion;

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{label,-11} rotations/s: 1 caller {one,8:N0}   {Racers} racing callers {sixteen,8:N0} (all {latest - 1} rotations applied)"));
        foreach (var service in services)
        {
            await service.DisposeAsync();
        }

        foreach (var store in stores)
        {
            await store.DisposeAsync();
        }
    }
}
