using Rekey.Keys;
using Rekey.Testing;

namespace Rekey.Storage.Postgres.Tests;

/// <summary>Schema migrations when several instances start at once on a fresh database.</summary>
public sealed class PostgresMigrationTests
{
    [Fact]
    public async Task Open_EightInstancesAtOnceOnAFreshDatabase_MigrateOnce_AllWork()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        using var start = new Barrier(8);
        var stores = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            start.SignalAndWait();
            return await PostgresKeyStore.OpenAsync(database.ConnectionString, listen: false);
        })));
        try
        {
            Assert.Equal(9L, await database.ExecuteAsync("SELECT count(*) FROM schema_migrations;"));
            foreach (var store in stores)
            {
                Assert.Null(await store.FindKeyAsync(KeyName.Parse("any")));
            }
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }
}
