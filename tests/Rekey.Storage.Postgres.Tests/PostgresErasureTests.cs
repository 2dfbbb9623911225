using Npgsql;
using Rekey.Keys;
using Rekey.Root;
using Rekey.Testing;

namespace Rekey.Storage.Postgres.Tests;

/// <summary>Erasure on PostgreSQL while other transactions in the cluster are running.</summary>
public sealed class PostgresErasureTests
{
    [Fact]
    public async Task Destroy_WhileAnOlderTransactionRunsElsewhere_StillErasesEveryCopy()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var elsewhere = await PostgresDatabase.CreateAsync();
        var dir = Directory.CreateTempSubdirectory("rekey-erase-").FullName;
        try
        {
            using var root = LocalRootKeyProvider.CreateKeyFile(Path.Combine(dir, "root.key"));
            var logs = new CapturingLoggerFactory();
            await using var store = await PostgresKeyStore.OpenAsync(database.ConnectionString, listen: false, loggerFactory: logs);
            await using var service = new RekeyService(store, root, new RekeyServiceOptions { DefaultDestructionDelay = TimeSpan.Zero });
            var key = KeyName.Parse("k");
            await service.CreateKeyAsync(key);
            await service.RotateAsync(key);
            var material = (await store.GetVersionsAsync(key))[0].WrappedMaterial!;
            await service.DisableAsync(key, 1);
            await service.ScheduleDestroyAsync(key, 1);

            // A transaction in another database, with an xid older than the destroy's, still open
            // when the destroy commits: its horizon would keep the dead copies through VACUUM FULL.
            await using var other = new NpgsqlConnection(elsewhere.ConnectionString);
            await other.OpenAsync();
            await using var transaction = await other.BeginTransactionAsync();
            await using (var xid = new NpgsqlCommand("SELECT txid_current();", other, transaction))
            {
                await xid.ExecuteScalarAsync();
            }

            var ends = Task.Run(async () =>
            {
                await Task.Delay(500);
                await transaction.CommitAsync();
            });
            await service.DestroyAsync(key, 1);
            await ends;

            await database.ExecuteAsync("CHECKPOINT;");
            var file = (byte[])(await database.ExecuteAsync("SELECT pg_read_binary_file(pg_relation_filepath('rekey.key_versions'));"))!;
            Assert.True(file.AsSpan().IndexOf(material) < 0, "a dead copy of the destroyed material survived in the table file");

            // The wait and the rewrite are told to the operator, in that order, under the store's category.
            var told = logs.Entries.Where(e => e.Category == "Rekey.Storage.Postgres").Select(e => e.EventId).ToList();
            Assert.Equal([4003, 4005], told);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task ListenerLosingItsConnection_LogsIt_Reconnects_AndSaysSo()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        var logs = new CapturingLoggerFactory();
        await using var store = await PostgresKeyStore.OpenAsync(database.ConnectionString, loggerFactory: logs);
        Assert.True(store.IsLive);
        var everything = new TaskCompletionSource();
        store.KeyChanged += (_, e) =>
        {
            if (e.Key is null)
            {
                everything.TrySetResult();
            }
        };

        await database.ExecuteAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%';");
        var lost = await logs.WaitForAsync(4001, TimeSpan.FromSeconds(10));
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, lost.Level);
        await logs.WaitForAsync(4002, TimeSpan.FromSeconds(10));
        await everything.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(store.IsLive);
    }
}
