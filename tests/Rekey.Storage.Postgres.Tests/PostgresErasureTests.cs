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
            await using var store = await PostgresKeyStore.OpenAsync(database.ConnectionString, listen: false);
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
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
