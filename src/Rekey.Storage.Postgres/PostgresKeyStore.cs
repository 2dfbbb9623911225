using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using Rekey.Access;
using Rekey.Audit;
using Rekey.Errors;
using Rekey.Keys;

namespace Rekey.Storage.Postgres;

/// <summary>
/// The production store: tables in the <c>rekey</c> schema of a PostgreSQL database, shared by
/// any number of Rekey instances. Every change is one transaction that also appends its audit
/// event and announces the change with NOTIFY, so other instances drop their cached versions.
/// </summary>
/// <remarks>
/// Writers take one transaction-scoped advisory lock for the audit chain, so sequence numbers
/// and hash links never fork and concurrent changes to one key are applied one after another;
/// conditional updates (<c>WHERE state = expected</c>) turn a lost race into <c>Conflict</c>.
/// After a version is destroyed, <c>key_versions</c> is rewritten (VACUUM FULL) so its erased
/// material does not linger in dead row versions. Needs a database and a role that may create
/// the <c>rekey</c> schema (or owns it).
/// </remarks>
public sealed partial class PostgresKeyStore : IKeyStore, ITokenStore, IAuditCheckpointStore, IKeyChangeFeed, IRewrapJobStore, IDataSourceStore
{
    private readonly NpgsqlDataSource _dataSource;
    private PostgresChangeListener? _listener;

    private PostgresKeyStore(NpgsqlDataSource dataSource) => _dataSource = dataSource;

    /// <inheritdoc />
    public event EventHandler<KeyChangedEventArgs>? KeyChanged;

    /// <inheritdoc />
    public bool IsLive => _listener?.IsLive ?? false;

    /// <summary>Runs inside a change's transaction after its version updates; tests inject faults and pauses here.</summary>
    internal Action? AfterVersionUpdates { get; set; }

    /// <summary>
    /// Connects, brings the schema up to date, and (unless <paramref name="listen"/> is false)
    /// starts listening for changes made by other instances.
    /// </summary>
    public static async Task<PostgresKeyStore> OpenAsync(string connectionString, TimeProvider? timeProvider = null, bool listen = true, CancellationToken cancellationToken = default)
    {
        var normalized = PostgresConnectionString.Normalize(connectionString);
        var dataSource = NpgsqlDataSource.Create(normalized);
        var store = new PostgresKeyStore(dataSource);
        try
        {
            await RunAsync(
                async _ =>
                {
                    await PostgresSchema.MigrateAsync(dataSource, (timeProvider ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
                    return 0;
                },
                cancellationToken).ConfigureAwait(false);
            if (listen)
            {
                store._listener = new PostgresChangeListener(dataSource, key => store.KeyChanged?.Invoke(store, new KeyChangedEventArgs(key)));
                await store._listener.Started.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            return store;
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    public Task CreateKeyAsync(StoredKey key, StoredKeyVersion firstVersion, AuditRecord audit, CancellationToken cancellationToken = default) =>
        WriteAsync(
            key.Name,
            async (connection, ct) =>
            {
                await using (var insert = new NpgsqlCommand($"INSERT INTO rekey.keys ({StoreRows.KeyColumns}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING;", connection))
                {
                    insert.Parameters.AddWithValue(key.Name.Value);
                    insert.Parameters.AddWithValue(key.CreatedAt.ToUnixTimeMilliseconds());
                    insert.Parameters.AddWithValue(key.MinDecryptionVersion);
                    insert.Parameters.AddWithValue((long)key.DestructionDelay.TotalMilliseconds);
                    insert.Parameters.AddWithValue(key.DeletionAllowed);
                    if (await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
                    {
                        throw new RekeyException(RekeyErrorCode.KeyExists, $"Key '{key.Name}' already exists.");
                    }
                }

                await InsertVersionAsync(connection, firstVersion, ct).ConfigureAwait(false);
                await AppendAuditAsync(connection, audit, ct).ConfigureAwait(false);
                return false;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<StoredKey?> FindKeyAsync(KeyName name, CancellationToken cancellationToken = default) =>
        RunAsync(
            async ct =>
            {
                await using var command = _dataSource.CreateCommand($"SELECT {StoreRows.KeyColumns} FROM rekey.keys WHERE name = $1;");
                command.Parameters.AddWithValue(name.Value);
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                return await reader.ReadAsync(ct).ConfigureAwait(false) ? StoreRows.ReadKey(reader) : null;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<long> CountKeysAsync(CancellationToken cancellationToken = default) =>
        RunAsync(
            async ct =>
            {
                await using var command = _dataSource.CreateCommand("SELECT count(*) FROM rekey.keys;");
                return (long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredKey>> ListKeysAsync(string? prefix, CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<StoredKey>>(
            async ct =>
            {
                // starts_with rather than LIKE: key names contain '_', a LIKE wildcard.
                await using var command = _dataSource.CreateCommand($"SELECT {StoreRows.KeyColumns} FROM rekey.keys WHERE starts_with(name, $1) ORDER BY name COLLATE \"C\";");
                command.Parameters.AddWithValue(prefix ?? string.Empty);
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                var keys = new List<StoredKey>();
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    keys.Add(StoreRows.ReadKey(reader));
                }

                return keys;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredKeyVersion>> GetVersionsAsync(KeyName name, CancellationToken cancellationToken = default) =>
        ReadVersionsAsync("key_name = $1 ORDER BY version", name.Value, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredKeyVersion>> GetRetiringDueAsync(DateTimeOffset now, CancellationToken cancellationToken = default) =>
        ReadVersionsAsync("state = 'Retiring' AND retire_deadline <= $1 ORDER BY key_name COLLATE \"C\", version", now.ToUnixTimeMilliseconds(), cancellationToken);

    private Task<IReadOnlyList<StoredKeyVersion>> ReadVersionsAsync(string where, object value, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<StoredKeyVersion>>(
            async ct =>
            {
                await using var command = _dataSource.CreateCommand($"SELECT {StoreRows.VersionColumns} FROM rekey.key_versions WHERE {where};");
                command.Parameters.AddWithValue(value);
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                var versions = new List<StoredKeyVersion>();
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    versions.Add(StoreRows.ReadVersion(reader));
                }

                return versions;
            },
            cancellationToken);

    /// <inheritdoc />
    public async Task ApplyAsync(KeyChange change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        var destroyingXid = await WriteAsync(
            change.Key,
            async (connection, ct) =>
            {
                await using (var exists = new NpgsqlCommand("SELECT 1 FROM rekey.keys WHERE name = $1;", connection))
                {
                    exists.Parameters.AddWithValue(change.Key.Value);
                    if (await exists.ExecuteScalarAsync(ct).ConfigureAwait(false) is null)
                    {
                        throw new RekeyException(RekeyErrorCode.KeyNotFound, $"Key '{change.Key}' does not exist.");
                    }
                }

                foreach (var update in change.Updates)
                {
                    await UpdateVersionAsync(connection, update, ct).ConfigureAwait(false);
                }

                if (change.Insert is not null)
                {
                    await InsertVersionAsync(connection, change.Insert, ct).ConfigureAwait(false);
                }

                AfterVersionUpdates?.Invoke();

                if (change.KeyUpdate is { } key)
                {
                    await using var command = new NpgsqlCommand("UPDATE rekey.keys SET min_decryption_version = $2, destruction_delay_ms = $3, deletion_allowed = $4 WHERE name = $1;", connection);
                    command.Parameters.AddWithValue(key.Name.Value);
                    command.Parameters.AddWithValue(key.MinDecryptionVersion);
                    command.Parameters.AddWithValue((long)key.DestructionDelay.TotalMilliseconds);
                    command.Parameters.AddWithValue(key.DeletionAllowed);
                    await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                await AppendAuditAsync(connection, change.Audit, ct).ConfigureAwait(false);
                if (!change.ErasesMaterial)
                {
                    return (long?)null;
                }

                await using var xid = new NpgsqlCommand("SELECT txid_current();", connection);
                return (long?)Convert.ToInt64(await xid.ExecuteScalarAsync(ct).ConfigureAwait(false), CultureInfo.InvariantCulture);
            },
            cancellationToken).ConfigureAwait(false);

        if (destroyingXid is { } destroyer)
        {
            await EraseDeadRowVersionsAsync(destroyer, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task DeleteKeyAsync(KeyName name, AuditRecord audit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(audit);
        var deletingXid = await WriteAsync(
            name,
            async (connection, ct) =>
            {
                await using (var check = new NpgsqlCommand("SELECT deletion_allowed FROM rekey.keys WHERE name = $1 FOR UPDATE;", connection))
                {
                    check.Parameters.AddWithValue(name.Value);
                    switch (await check.ExecuteScalarAsync(ct).ConfigureAwait(false))
                    {
                        case null:
                            throw new RekeyException(RekeyErrorCode.KeyNotFound, $"Key '{name}' does not exist.");
                        case false:
                            throw new RekeyException(RekeyErrorCode.PolicyViolation, $"Key '{name}' does not allow deletion; set deletion_allowed first.");
                    }
                }

                await using (var delete = new NpgsqlCommand("DELETE FROM rekey.key_versions WHERE key_name = $1;", connection))
                {
                    delete.Parameters.AddWithValue(name.Value);
                    await delete.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                await using (var delete = new NpgsqlCommand("DELETE FROM rekey.keys WHERE name = $1;", connection))
                {
                    delete.Parameters.AddWithValue(name.Value);
                    await delete.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                await AppendAuditAsync(connection, audit, ct).ConfigureAwait(false);
                await using var xid = new NpgsqlCommand("SELECT txid_current();", connection);
                return Convert.ToInt64(await xid.ExecuteScalarAsync(ct).ConfigureAwait(false), CultureInfo.InvariantCulture);
            },
            cancellationToken).ConfigureAwait(false);
        await EraseDeadRowVersionsAsync(deletingXid, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task AddUsageAsync(IReadOnlyCollection<UsageDelta> deltas, CancellationToken cancellationToken = default) =>
        RunAsync(
            async ct =>
            {
                await using var command = _dataSource.CreateCommand(
                    """
                    UPDATE rekey.key_versions v SET encrypt_count = v.encrypt_count + d.e, decrypt_count = v.decrypt_count + d.d
                    FROM unnest($1::text[], $2::integer[], $3::bigint[], $4::bigint[]) AS d (k, ver, e, d)
                    WHERE v.key_name = d.k AND v.version = d.ver;
                    """);
                command.Parameters.AddWithValue(deltas.Select(d => d.Key.Value).ToArray());
                command.Parameters.AddWithValue(deltas.Select(d => d.Version).ToArray());
                command.Parameters.AddWithValue(deltas.Select(d => d.Encrypts).ToArray());
                command.Parameters.AddWithValue(deltas.Select(d => d.Decrypts).ToArray());
                return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            },
            cancellationToken);

    /// <inheritdoc />
    public Task AppendAuditAsync(AuditRecord audit, CancellationToken cancellationToken = default) =>
        WriteAsync(
            null,
            async (connection, ct) =>
            {
                await AppendAuditAsync(connection, audit, ct).ConfigureAwait(false);
                return false;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<AuditEvent>> ReadAuditAsync(long afterSequence, int limit, CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<AuditEvent>>(
            async ct =>
            {
                await using var command = _dataSource.CreateCommand($"SELECT {StoreRows.AuditColumns} FROM rekey.audit_events WHERE seq > $1 ORDER BY seq LIMIT $2;");
                command.Parameters.AddWithValue(afterSequence);
                command.Parameters.AddWithValue(limit);
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                var events = new List<AuditEvent>();
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    events.Add(StoreRows.ReadAuditEvent(reader));
                }

                return events;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task CreateTokenAsync(AccessToken token, AuditRecord audit, CancellationToken cancellationToken = default) =>
        WriteAsync(
            null,
            async (connection, ct) =>
            {
                ArgumentNullException.ThrowIfNull(token);
                await using var insert = new NpgsqlCommand($"INSERT INTO rekey.tokens ({StoreRows.TokenColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING;", connection);
                insert.Parameters.AddWithValue(token.Id);
                insert.Parameters.AddWithValue(token.Name);
                insert.Parameters.AddWithValue(StoreRows.FormatRoles(token.Roles));
                insert.Parameters.AddWithValue(StoreRows.FormatPatterns(token.Patterns));
                insert.Parameters.AddWithValue(token.SecretHash);
                insert.Parameters.AddWithValue(token.CreatedAt.ToUnixTimeMilliseconds());
                insert.Parameters.Add(Millis(token.ExpiresAt));
                insert.Parameters.Add(Millis(token.RevokedAt));
                if (await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
                {
                    throw StoreRows.TokenConflict(token.Id);
                }

                await AppendAuditAsync(connection, audit, ct).ConfigureAwait(false);
                return 0;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<AccessToken?> FindTokenAsync(string id, CancellationToken cancellationToken = default) =>
        RunAsync(
            async ct =>
            {
                await using var command = _dataSource.CreateCommand($"SELECT {StoreRows.TokenColumns} FROM rekey.tokens WHERE id = $1;");
                command.Parameters.AddWithValue(id);
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                return await reader.ReadAsync(ct).ConfigureAwait(false) ? StoreRows.ReadToken(reader) : null;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<AccessToken>> ListTokensAsync(CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<AccessToken>>(
            async ct =>
            {
                await using var command = _dataSource.CreateCommand($"SELECT {StoreRows.TokenColumns} FROM rekey.tokens ORDER BY created_at, id;");
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                var tokens = new List<AccessToken>();
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    tokens.Add(StoreRows.ReadToken(reader));
                }

                return tokens;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task RevokeTokenAsync(string id, DateTimeOffset revokedAt, AuditRecord audit, CancellationToken cancellationToken = default) =>
        WriteAsync(
            null,
            async (connection, ct) =>
            {
                await using (var update = new NpgsqlCommand("UPDATE rekey.tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL;", connection))
                {
                    update.Parameters.AddWithValue(id);
                    update.Parameters.AddWithValue(revokedAt.ToUnixTimeMilliseconds());
                    if (await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
                    {
                        await using var exists = new NpgsqlCommand("SELECT 1 FROM rekey.tokens WHERE id = $1;", connection);
                        exists.Parameters.AddWithValue(id);
                        throw await exists.ExecuteScalarAsync(ct).ConfigureAwait(false) is null ? StoreRows.TokenNotFound(id) : StoreRows.TokenConflict(id);
                    }
                }

                await AppendAuditAsync(connection, audit, ct).ConfigureAwait(false);
                return 0;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task AddSigningKeyAsync(StoredSigningKey key, AuditRecord audit, CancellationToken cancellationToken = default) =>
        WriteAsync(
            null,
            async (connection, ct) =>
            {
                ArgumentNullException.ThrowIfNull(key);
                await using var insert = new NpgsqlCommand($"INSERT INTO rekey.audit_signing_keys ({StoreRows.SigningKeyColumns}) VALUES ($1, $2, $3, $4, $5);", connection);
                insert.Parameters.AddWithValue(key.KeyId);
                insert.Parameters.AddWithValue(key.PublicKey);
                insert.Parameters.AddWithValue(key.WrappedPrivateKey);
                insert.Parameters.AddWithValue(key.RootKeyId);
                insert.Parameters.AddWithValue(key.CreatedAt.ToUnixTimeMilliseconds());
                await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                await AppendAuditAsync(connection, audit, ct).ConfigureAwait(false);
                return 0;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredSigningKey>> GetSigningKeysAsync(CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<StoredSigningKey>>(
            async ct =>
            {
                await using var command = _dataSource.CreateCommand($"SELECT {StoreRows.SigningKeyColumns} FROM rekey.audit_signing_keys ORDER BY created_at, key_id;");
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                var keys = new List<StoredSigningKey>();
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    keys.Add(StoreRows.ReadSigningKey(reader));
                }

                return keys;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task AddCheckpointAsync(AuditCheckpoint checkpoint, CancellationToken cancellationToken = default) =>
        RunAsync(
            async ct =>
            {
                ArgumentNullException.ThrowIfNull(checkpoint);
                await using var insert = _dataSource.CreateCommand($"INSERT INTO rekey.audit_checkpoints ({StoreRows.CheckpointColumns}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING;");
                insert.Parameters.AddWithValue(checkpoint.Sequence);
                insert.Parameters.AddWithValue(checkpoint.Hash);
                insert.Parameters.AddWithValue(checkpoint.Time.ToUnixTimeMilliseconds());
                insert.Parameters.AddWithValue(checkpoint.KeyId);
                insert.Parameters.AddWithValue(checkpoint.Signature);
                return await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<AuditCheckpoint>> GetCheckpointsAsync(CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<AuditCheckpoint>>(
            async ct =>
            {
                await using var command = _dataSource.CreateCommand($"SELECT {StoreRows.CheckpointColumns} FROM rekey.audit_checkpoints ORDER BY seq;");
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                var checkpoints = new List<AuditCheckpoint>();
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    checkpoints.Add(StoreRows.ReadCheckpoint(reader));
                }

                return checkpoints;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<AuditHead?> GetAuditHeadAsync(CancellationToken cancellationToken = default) =>
        RunAsync<AuditHead?>(
            async ct =>
            {
                await using var command = _dataSource.CreateCommand("SELECT seq, hash FROM rekey.audit_events ORDER BY seq DESC LIMIT 1;");
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                return await reader.ReadAsync(ct).ConfigureAwait(false) ? new AuditHead(reader.GetInt64(0), reader.GetString(1)) : null;
            },
            cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _listener?.Dispose();

        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Every earlier update of a version's row left a dead copy holding its material. VACUUM FULL
    /// rewrites the table without dead copies, but keeps those a running transaction might still
    /// see: a snapshot's horizon is the oldest transaction running anywhere in the cluster. So wait
    /// (a bounded time) until every transaction older than the destroying one has ended first.
    /// </summary>
    private async Task EraseDeadRowVersionsAsync(long destroyingXid, CancellationToken cancellationToken)
    {
        var deadline = TimeSpan.FromSeconds(10);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (waited.Elapsed < deadline)
        {
            var horizon = await RunAsync(
                async ct =>
                {
                    await using var command = _dataSource.CreateCommand("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint;");
                    return Convert.ToInt64(await command.ExecuteScalarAsync(ct).ConfigureAwait(false), CultureInfo.InvariantCulture);
                },
                cancellationToken).ConfigureAwait(false);
            if (horizon > destroyingXid)
            {
                break;
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }

        await RunAsync(
            async ct =>
            {
                await using var vacuum = _dataSource.CreateCommand("VACUUM FULL rekey.key_versions;");
                return await vacuum.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);
    }

    private static async Task UpdateVersionAsync(NpgsqlConnection connection, VersionUpdate update, CancellationToken cancellationToken)
    {
        var row = update.Updated;
        await using var command = new NpgsqlCommand(
            """
            UPDATE rekey.key_versions SET state = $3, material = $4, root_key_id = $5, activated_at = $6, deactivated_at = $7,
                retire_deadline = $8, destroy_after = $9, destroyed_at = $10
            WHERE key_name = $1 AND version = $2 AND state = $11;
            """,
            connection);
        BindVersion(command, row);
        command.Parameters.AddWithValue(update.ExpectedState.ToString());
        if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
        {
            throw StoreRows.Conflict(row.Info.Key, row.Info.Version);
        }
    }

    private static async Task InsertVersionAsync(NpgsqlConnection connection, StoredKeyVersion row, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"INSERT INTO rekey.key_versions ({StoreRows.VersionColumns}) VALUES ($1, $2, $3, $4, $5, $11, $6, $7, $8, $9, $10, $12, $13) ON CONFLICT DO NOTHING;",
            connection);
        BindVersion(command, row);
        command.Parameters.AddWithValue(row.Info.CreatedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue(row.Info.EncryptCount);
        command.Parameters.AddWithValue(row.Info.DecryptCount);

        // ON CONFLICT DO NOTHING covers both the primary key and the one-Active index: a version
        // number or an Active slot taken by a concurrent change is a conflict, not a fault.
        if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
        {
            throw StoreRows.Conflict(row.Info.Key, row.Info.Version);
        }
    }

    private static void BindVersion(NpgsqlCommand command, StoredKeyVersion row)
    {
        var info = row.Info;
        command.Parameters.AddWithValue(info.Key.Value);
        command.Parameters.AddWithValue(info.Version);
        command.Parameters.AddWithValue(info.State.ToString());
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bytea, Value = (object?)row.WrappedMaterial ?? DBNull.Value });
        command.Parameters.AddWithValue(row.RootKeyId);
        command.Parameters.Add(Millis(info.ActivatedAt));
        command.Parameters.Add(Millis(info.DeactivatedAt));
        command.Parameters.Add(Millis(info.RetireDeadline));
        command.Parameters.Add(Millis(info.DestroyAfter));
        command.Parameters.Add(Millis(info.DestroyedAt));
    }

    private static async Task AppendAuditAsync(NpgsqlConnection connection, AuditRecord record, CancellationToken cancellationToken)
    {
        long sequence = 1;
        var previous = AuditChain.GenesisHash;
        await using (var head = new NpgsqlCommand("SELECT seq, hash FROM rekey.audit_events ORDER BY seq DESC LIMIT 1;", connection))
        await using (var reader = await head.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                sequence = reader.GetInt64(0) + 1;
                previous = reader.GetString(1);
            }
        }

        var sealedEvent = AuditChain.Seal(record, sequence, previous);
        var r = sealedEvent.Record;
        await using var insert = new NpgsqlCommand(
            $"INSERT INTO rekey.audit_events ({StoreRows.AuditColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15);",
            connection);
        insert.Parameters.AddWithValue(sealedEvent.Sequence);
        insert.Parameters.AddWithValue(r.Time.ToUnixTimeMilliseconds());
        insert.Parameters.AddWithValue(r.Actor);
        insert.Parameters.AddWithValue(r.Action);
        insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)r.Key ?? DBNull.Value });
        insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = (object?)r.FromVersion ?? DBNull.Value });
        insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = (object?)r.ToVersion ?? DBNull.Value });
        insert.Parameters.AddWithValue(r.Outcome);
        insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)r.Details ?? DBNull.Value });
        insert.Parameters.AddWithValue(sealedEvent.PreviousHash);
        insert.Parameters.AddWithValue(sealedEvent.Hash);
        foreach (var field in new[] { r.Reason, r.RequestId, r.Client, r.PresentedTokenId })
        {
            insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)field ?? DBNull.Value });
        }

        await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static NpgsqlParameter Millis(DateTimeOffset? time) =>
        new() { NpgsqlDbType = NpgsqlDbType.Bigint, Value = time is { } t ? t.ToUnixTimeMilliseconds() : DBNull.Value };

    /// <summary>One write transaction: audit-chain lock first, then the work, then NOTIFY (delivered on commit).</summary>
    private Task<T> WriteAsync<T>(KeyName? changed, Func<NpgsqlConnection, CancellationToken, Task<T>> work, CancellationToken cancellationToken) =>
        RunAsync(
            async ct =>
            {
                await using var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
                await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
                await using (var lockAudit = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({PostgresSchema.AuditLock});", connection))
                {
                    await lockAudit.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                var result = await work(connection, ct).ConfigureAwait(false);
                if (changed is { } key)
                {
                    await using var notify = new NpgsqlCommand($"SELECT pg_notify('{PostgresSchema.Channel}', $1);", connection);
                    notify.Parameters.AddWithValue(key.Value);
                    await notify.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                await transaction.CommitAsync(ct).ConfigureAwait(false);

                // Services sharing this store object learn of it now; other instances through NOTIFY.
                if (changed is { } committed)
                {
                    KeyChanged?.Invoke(this, new KeyChangedEventArgs(committed));
                }

                return result;
            },
            cancellationToken);

    private static async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        try
        {
            return await work(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            throw new RekeyStoreException($"The PostgreSQL store failed: {e.Message}", e.IsTransient, e);
        }
    }
}
