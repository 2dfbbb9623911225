using Microsoft.Data.Sqlite;
using Rekey.Testing.Conformance;

namespace Rekey.Storage.Sqlite.Tests;

/// <summary>The shared store conformance suite and cross-process tests, on a SQLite file (under a key-file root here; the PKCS#11 tests run it under an HSM root).</summary>
public class SqliteConformanceTests : CrossProcessTests
{
    private string _path = string.Empty;

    protected override string StoreArgument => _path;

    protected override Task CreateBackingAsync(string directory)
    {
        _path = Path.Combine(directory, "rekey.db");
        return Task.CompletedTask;
    }

    protected override async Task<IKeyStore> OpenStoreAsync(TimeProvider time) => await SqliteKeyStore.OpenAsync(_path, time);

    protected override Task DisposeBackingAsync()
    {
        SqliteConnection.ClearAllPools();
        return Task.CompletedTask;
    }

    protected override Task<object?> SqlAsync(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={_path};Pooling=False;Default Timeout=30");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Task.FromResult(command.ExecuteScalar());
    }

    protected override void SetAfterVersionUpdates(IKeyStore store, Action? hook) => ((SqliteKeyStore)store).AfterVersionUpdates = hook;

    protected override Task TamperStatesAsync(string sql) => SqlAsync("DROP INDEX key_versions_one_active; PRAGMA ignore_check_constraints = ON; " + sql);

    protected override Task DropAuditGuardsAsync() => SqlAsync("DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;");

    protected override Task<bool> PersistedDataContainsAsync(byte[] needle)
    {
        SqliteConnection.ClearAllPools();
        var found = Directory.GetFiles(Path.GetDirectoryName(_path)!, "rekey.db*")
            .Any(file => File.ReadAllBytes(file).AsSpan().IndexOf(needle) >= 0);
        return Task.FromResult(found);
    }
}
