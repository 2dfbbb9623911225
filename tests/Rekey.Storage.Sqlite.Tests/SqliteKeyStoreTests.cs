using System.Text;
using Microsoft.Data.Sqlite;
using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Keys;

namespace Rekey.Storage.Sqlite.Tests;

/// <summary>What is particular to the SQLite store; what every store must do is in <see cref="SqliteConformanceTests"/>.</summary>
public sealed class SqliteKeyStoreTests : IAsyncLifetime
{
    private static readonly KeyName Key = SqliteFixture.Name("tenants/h42/patients");
    private SqliteFixture _f = null!;

    public async Task InitializeAsync() => _f = await SqliteFixture.CreateAsync(destructionDelay: TimeSpan.Zero);

    public async Task DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task Open_Twice_IsIdempotent()
    {
        await _f.Service.CreateKeyAsync(Key);
        await using var again = await SqliteKeyStore.OpenAsync(_f.DatabasePath);
        Assert.NotNull(await again.FindKeyAsync(Key));
    }

    [Fact]
    public async Task Open_EightProcessesWorthAtOnceOnAFreshFile_MigrateOnce()
    {
        var path = Path.Combine(_f.Dir, "fresh.db");
        using var start = new Barrier(8);
        var stores = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            start.SignalAndWait();
            return await SqliteKeyStore.OpenAsync(path, changePollInterval: TimeSpan.Zero);
        })));
        foreach (var store in stores)
        {
            await store.DisposeAsync();
        }

        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        Assert.Equal("9", Scalar(connection, "SELECT count(*) FROM schema_migrations;"));
    }

    [Fact]
    public void JournalMode_IsWal()
    {
        using var connection = _f.OpenRaw();
        Assert.Equal("wal", Scalar(connection, "PRAGMA journal_mode;"));
    }

    [Fact]
    public async Task DataFile_HoldsNoPlaintextKeyMaterialOrData()
    {
        await _f.Service.CreateKeyAsync(Key);
        var secret = Encoding.UTF8.GetBytes("very secret record body 123");
        var envelope = await _f.Service.EncryptAsync(Key, secret, EncryptionContext.From("c"));
        Assert.NotEmpty(envelope);
        Assert.False(ContainsInFiles(secret));
    }

    private bool ContainsInFiles(byte[] needle)
    {
        SqliteConnection.ClearAllPools();
        foreach (var path in Directory.GetFiles(_f.Dir, "rekey.db*"))
        {
            var bytes = File.ReadAllBytes(path);
            if (bytes.AsSpan().IndexOf(needle) >= 0)
            {
                return true;
            }
        }

        return false;
    }

    private static string? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar()?.ToString();
    }
}
