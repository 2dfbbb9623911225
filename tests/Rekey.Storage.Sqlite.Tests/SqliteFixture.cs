using Microsoft.Data.Sqlite;
using Rekey.Keys;
using Rekey.Root;
using Rekey.Testing;

namespace Rekey.Storage.Sqlite.Tests;

/// <summary>A fresh SQLite store, root key and service in a temporary folder, per test.</summary>
public sealed class SqliteFixture : IAsyncDisposable
{
    private SqliteFixture(string dir, SqliteKeyStore store, LocalRootKeyProvider root, FakeTimeProvider time, RekeyService service)
    {
        Dir = dir;
        Store = store;
        Root = root;
        Time = time;
        Service = service;
    }

    public string Dir { get; }

    public SqliteKeyStore Store { get; }

    public LocalRootKeyProvider Root { get; }

    public FakeTimeProvider Time { get; }

    public RekeyService Service { get; }

    public string DatabasePath => Path.Combine(Dir, "rekey.db");

    public static async Task<SqliteFixture> CreateAsync(TimeSpan? destructionDelay = null)
    {
        var dir = Directory.CreateTempSubdirectory("rekey-sqlite-").FullName;
        var time = new FakeTimeProvider();
        var store = await SqliteKeyStore.OpenAsync(Path.Combine(dir, "rekey.db"), time);
        var root = LocalRootKeyProvider.CreateKeyFile(Path.Combine(dir, "root.key"));
        var options = new RekeyServiceOptions { DefaultDestructionDelay = destructionDelay ?? TimeSpan.FromHours(24) };
        return new SqliteFixture(dir, store, root, time, new RekeyService(store, root, options, time));
    }

    /// <summary>A second service over the same files, as another process would have.</summary>
    public RekeyService OpenSecondService() => new(Store, Root, new RekeyServiceOptions(), Time);

    public SqliteConnection OpenRaw()
    {
        var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        connection.Open();
        return connection;
    }

    public int Execute(string sql)
    {
        using var connection = OpenRaw();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    public static KeyName Name(string value) => KeyName.Parse(value);

    public async ValueTask DisposeAsync()
    {
        await Service.DisposeAsync();
        await Store.DisposeAsync();
        Root.Dispose();
        Directory.Delete(Dir, recursive: true);
    }
}
