using Rekey.Testing;
using Rekey.Testing.Conformance;

namespace Rekey.Storage.Postgres.Tests;

/// <summary>The shared store conformance suite and cross-process tests, on a fresh PostgreSQL database per test.</summary>
public sealed class PostgresConformanceTests : CrossProcessTests
{
    private PostgresDatabase _database = null!;

    protected override string StoreArgument => _database.ConnectionString;

    protected override async Task CreateBackingAsync(string directory) => _database = await PostgresDatabase.CreateAsync();

    protected override async Task<IKeyStore> OpenStoreAsync(TimeProvider time) => await PostgresKeyStore.OpenAsync(_database.ConnectionString, time);

    protected override async Task DisposeBackingAsync() => await _database.DisposeAsync();

    protected override Task<object?> SqlAsync(string sql) => _database.ExecuteAsync(sql);

    protected override void SetAfterVersionUpdates(IKeyStore store, Action? hook) => ((PostgresKeyStore)store).AfterVersionUpdates = hook;

    protected override Task TamperStatesAsync(string sql) => SqlAsync("DROP INDEX key_versions_one_active; ALTER TABLE key_versions DROP CONSTRAINT key_versions_state_check; " + sql);

    protected override Task DropAuditGuardsAsync() => SqlAsync("DROP TRIGGER audit_events_no_update ON audit_events; DROP TRIGGER audit_events_no_truncate ON audit_events;");

    protected override async Task<bool> PersistedDataContainsAsync(byte[] needle)
    {
        // What is on disk: flush every page, then read the table's current data file.
        await SqlAsync("CHECKPOINT;");
        var file = (byte[])(await SqlAsync("SELECT pg_read_binary_file(pg_relation_filepath('rekey.key_versions'));"))!;
        return file.AsSpan().IndexOf(needle) >= 0;
    }
}
