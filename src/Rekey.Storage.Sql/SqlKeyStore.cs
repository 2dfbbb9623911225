using System.Data;
using System.Data.Common;
using System.Globalization;
using Rekey.Audit;
using Rekey.Errors;
using Rekey.Keys;

namespace Rekey.Storage.Sql;

/// <summary>
/// The store engine: every transaction of every store interface written once over
/// <see cref="DbConnection"/>, run on the engine a <see cref="SqlDialect"/> describes. A change and
/// its audit event commit together or not at all; writers hold the dialect's write lock, so the
/// audit chain never forks; conditional updates (<c>WHERE state = expected</c>) turn a lost race
/// into <see cref="RekeyErrorCode.Conflict"/>.
/// </summary>
/// <remarks>
/// The SQLite and PostgreSQL stores are this class with their dialect, schema and change feed.
/// A new table is added here once and in each dialect's DDL.
/// </remarks>
public abstract partial class SqlKeyStore : IKeyStore, ITokenStore, IAuditCheckpointStore, IKeyChangeFeed, IRewrapJobStore, IDataSourceStore, ILifecycleStore, IRootMigrationStore, IImportTokenStore, IStoreStatistics, IApprovalStore
{
    /// <summary>Binds the engine to <paramref name="dialect"/>.</summary>
    protected SqlKeyStore(SqlDialect dialect)
    {
        ArgumentNullException.ThrowIfNull(dialect);
        Dialect = dialect;
    }

    /// <inheritdoc />
    public event EventHandler<KeyChangedEventArgs>? KeyChanged;

    /// <inheritdoc />
    public virtual bool IsLive => false;

    /// <summary>Runs inside a change's transaction after its version updates; tests inject faults and pauses here.</summary>
    internal Action? AfterVersionUpdates { get; set; }

    /// <summary>The engine this store runs on.</summary>
    protected SqlDialect Dialect { get; }

    /// <inheritdoc />
    public Task CreateKeyAsync(StoredKey key, StoredKeyVersion firstVersion, AuditRecord audit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return WriteAsync(
            key.Name,
            async (connection, transaction, ct) =>
            {
                await using (var insert = Command(connection, transaction, $"INSERT INTO {T("keys")} ({StoreRows.KeyColumns}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING;"))
                {
                    Text(insert, key.Name.Value);
                    Int64(insert, key.CreatedAt.ToUnixTimeMilliseconds());
                    Int32(insert, key.MinDecryptionVersion);
                    Int64(insert, (long)key.DestructionDelay.TotalMilliseconds);
                    Bool(insert, key.DeletionAllowed);
                    if (await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
                    {
                        throw new RekeyException(RekeyErrorCode.KeyExists, $"Key '{key.Name}' already exists.");
                    }
                }

                await InsertVersionAsync(connection, transaction, firstVersion, ct).ConfigureAwait(false);
                await MarkDueAsync(connection, transaction, key.Name, audit.Time, ct).ConfigureAwait(false);
                await AppendAuditAsync(connection, transaction, audit, ct).ConfigureAwait(false);
                return 0;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public async Task<StoredKey?> FindKeyAsync(KeyName name, CancellationToken cancellationToken = default) =>
        (await ReadAsync($"SELECT {StoreRows.KeyColumns} FROM {T("keys")} WHERE name = $1;", c => Text(c, name.Value), StoreRows.ReadKey, cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    /// <inheritdoc />
    public Task<long> CountKeysAsync(CancellationToken cancellationToken = default) =>
        RunAsync(
            async (connection, ct) =>
            {
                await using var command = Command(connection, null, $"SELECT count(*) FROM {T("keys")};");
                return Convert.ToInt64(await command.ExecuteScalarAsync(ct).ConfigureAwait(false), CultureInfo.InvariantCulture);
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredKey>> ListKeysAsync(string? prefix, CancellationToken cancellationToken = default) =>
        ReadAsync($"SELECT {StoreRows.KeyColumns} FROM {T("keys")} WHERE {Dialect.StartsWith("name", "$1")} ORDER BY name{Dialect.ByteOrder};", c => Text(c, prefix ?? string.Empty), StoreRows.ReadKey, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredKeyVersion>> GetVersionsAsync(KeyName name, CancellationToken cancellationToken = default) =>
        ReadAsync($"SELECT {StoreRows.VersionColumns} FROM {T("key_versions")} WHERE key_name = $1 ORDER BY version;", c => Text(c, name.Value), StoreRows.ReadVersion, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredKeyVersion>> GetRetiringDueAsync(DateTimeOffset now, CancellationToken cancellationToken = default) =>
        ReadAsync(
            $"SELECT {StoreRows.VersionColumns} FROM {T("key_versions")} WHERE state = 'Retiring' AND retire_deadline <= $1 ORDER BY key_name{Dialect.ByteOrder}, version;",
            c => Int64(c, now.ToUnixTimeMilliseconds()),
            StoreRows.ReadVersion,
            cancellationToken);

    /// <inheritdoc />
    public async Task ApplyAsync(KeyChange change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        var erasure = await WriteAsync(
            change.Key,
            async (connection, transaction, ct) =>
            {
                await using (var exists = Command(connection, transaction, $"SELECT 1 FROM {T("keys")} WHERE name = $1{Dialect.ForUpdate};"))
                {
                    Text(exists, change.Key.Value);
                    if (await exists.ExecuteScalarAsync(ct).ConfigureAwait(false) is null)
                    {
                        throw new RekeyException(RekeyErrorCode.KeyNotFound, $"Key '{change.Key}' does not exist.");
                    }
                }

                foreach (var update in change.Updates)
                {
                    await UpdateVersionAsync(connection, transaction, update, ct).ConfigureAwait(false);
                }

                if (change.Insert is not null)
                {
                    await InsertVersionAsync(connection, transaction, change.Insert, ct).ConfigureAwait(false);
                }

                AfterVersionUpdates?.Invoke();

                if (change.KeyUpdate is { } key)
                {
                    await using var command = Command(connection, transaction, $"UPDATE {T("keys")} SET min_decryption_version = $2, destruction_delay_ms = $3, deletion_allowed = $4 WHERE name = $1;");
                    Text(command, key.Name.Value);
                    Int32(command, key.MinDecryptionVersion);
                    Int64(command, (long)key.DestructionDelay.TotalMilliseconds);
                    Bool(command, key.DeletionAllowed);
                    await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                if (change.Rotation is { } rotation)
                {
                    await InsertRotationAsync(connection, transaction, rotation, ct).ConfigureAwait(false);
                }

                if (change.SpendsImportToken is { } token)
                {
                    await SpendImportTokenAsync(connection, transaction, token, change, ct).ConfigureAwait(false);
                }

                // The scheduler looks at a changed key again: a rotation moves its due times.
                await MarkDueAsync(connection, transaction, change.Key, change.Audit.Time, ct).ConfigureAwait(false);
                await AppendAuditAsync(connection, transaction, change.Audit, ct).ConfigureAwait(false);
                return change.ErasesMaterial ? new Erasure(await Dialect.MarkErasureAsync(connection, transaction, ct).ConfigureAwait(false)) : null;
            },
            cancellationToken).ConfigureAwait(false);

        if (erasure is not null)
        {
            await ScrubAsync(erasure.Mark, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task DeleteKeyAsync(KeyName name, AuditRecord audit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(audit);
        var erasure = await WriteAsync(
            name,
            async (connection, transaction, ct) =>
            {
                await using (var check = Command(connection, transaction, $"SELECT deletion_allowed FROM {T("keys")} WHERE name = $1{Dialect.ForUpdate};"))
                {
                    Text(check, name.Value);
                    var allowed = await check.ExecuteScalarAsync(ct).ConfigureAwait(false);
                    if (allowed is null)
                    {
                        throw new RekeyException(RekeyErrorCode.KeyNotFound, $"Key '{name}' does not exist.");
                    }

                    if (!Convert.ToBoolean(allowed, CultureInfo.InvariantCulture))
                    {
                        throw new RekeyException(RekeyErrorCode.PolicyViolation, $"Key '{name}' does not allow deletion; set deletion_allowed first.");
                    }
                }

                foreach (var sql in new[] { $"DELETE FROM {T("key_versions")} WHERE key_name = $1;", $"DELETE FROM {T("keys")} WHERE name = $1;", $"DELETE FROM {T("key_schedule")} WHERE key_name = $1;" })
                {
                    await using var delete = Command(connection, transaction, sql);
                    Text(delete, name.Value);
                    await delete.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                await AppendAuditAsync(connection, transaction, audit, ct).ConfigureAwait(false);
                return new Erasure(await Dialect.MarkErasureAsync(connection, transaction, ct).ConfigureAwait(false));
            },
            cancellationToken).ConfigureAwait(false);
        await ScrubAsync(erasure.Mark, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task AddUsageAsync(IReadOnlyCollection<UsageDelta> deltas, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        return RunAsync(
            async (connection, ct) =>
            {
                await using var transaction = await Dialect.BeginAsync(connection, ct).ConfigureAwait(false);
                await using var command = Command(connection, transaction, $"UPDATE {T("key_versions")} SET encrypt_count = encrypt_count + $1, decrypt_count = decrypt_count + $2 WHERE key_name = $3 AND version = $4;");
                var (e, d, n, v) = (Int64(command, 0), Int64(command, 0), Text(command, string.Empty), Int32(command, 0));
                foreach (var delta in deltas)
                {
                    (e.Value, d.Value, n.Value, v.Value) = (delta.Encrypts, delta.Decrypts, delta.Key.Value, delta.Version);
                    await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                await transaction.CommitAsync(ct).ConfigureAwait(false);
                return 0;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    /// <summary>Tells services sharing this store object of a change (null: some key, unknown which); the subclass calls it for changes its feed reports from other processes.</summary>
    protected void RaiseChanged(KeyName? key) => KeyChanged?.Invoke(this, new KeyChangedEventArgs(key));

    private Task ScrubAsync(long? mark, CancellationToken cancellationToken) =>
        GuardAsync(
            async ct =>
            {
                await Dialect.ScrubAsync(mark, ct).ConfigureAwait(false);
                return 0;
            },
            cancellationToken);

    private async Task UpdateVersionAsync(DbConnection connection, DbTransaction transaction, VersionUpdate update, CancellationToken cancellationToken)
    {
        var row = update.Updated;

        // A state change erases material (destruction) but never writes it back: the row this
        // instance read may be older than a root migration's re-wrap, and writing its wrapped bytes
        // would put the version back under the old root after the migration counted it as moved.
        await using var command = Command(
            connection,
            transaction,
            $"""
            UPDATE {T("key_versions")} SET state = $3, material = CASE WHEN $4 IS NULL THEN NULL ELSE material END, root_key_id = COALESCE(root_key_id, $5), activated_at = $6, deactivated_at = $7,
                retire_deadline = $8, destroy_after = $9, destroyed_at = $10
            WHERE key_name = $1 AND version = $2 AND state = $11;
            """);
        BindVersion(command, row);
        Text(command, update.ExpectedState.ToString());
        int changed;
        try
        {
            changed = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (DbException e) when (Dialect.IsUniqueViolation(e))
        {
            // The one-Active index: another change promoted a version first.
            throw StoreRows.Conflict(row.Info.Key, row.Info.Version);
        }

        if (changed == 0)
        {
            throw StoreRows.Conflict(row.Info.Key, row.Info.Version);
        }
    }

    private async Task InsertVersionAsync(DbConnection connection, DbTransaction transaction, StoredKeyVersion row, CancellationToken cancellationToken)
    {
        await using var command = Command(
            connection,
            transaction,
            $"INSERT INTO {T("key_versions")} ({StoreRows.VersionColumns}) VALUES ($1, $2, $3, $4, $5, $11, $6, $7, $8, $9, $10, $12, $13, $14) ON CONFLICT DO NOTHING;");
        BindVersion(command, row);
        Int64(command, row.Info.CreatedAt.ToUnixTimeMilliseconds());
        Int64(command, row.Info.EncryptCount);
        Int64(command, row.Info.DecryptCount);
        Text(command, row.Info.Origin == KeyVersionOrigin.Imported ? "imported" : "generated");

        // ON CONFLICT DO NOTHING covers both the primary key and the one-Active index: a version
        // number or an Active slot taken by a concurrent change is a conflict, not a fault.
        if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
        {
            throw StoreRows.Conflict(row.Info.Key, row.Info.Version);
        }
    }

    private void BindVersion(DbCommand command, StoredKeyVersion row)
    {
        var info = row.Info;
        Text(command, info.Key.Value);
        Int32(command, info.Version);
        Text(command, info.State.ToString());
        Bytes(command, row.WrappedMaterial);
        Text(command, row.RootKeyId);
        Millis(command, info.ActivatedAt);
        Millis(command, info.DeactivatedAt);
        Millis(command, info.RetireDeadline);
        Millis(command, info.DestroyAfter);
        Millis(command, info.DestroyedAt);
    }

    /// <summary>What a transaction that erased material hands to the scrub after it commits.</summary>
    private sealed record Erasure(long? Mark);
}
