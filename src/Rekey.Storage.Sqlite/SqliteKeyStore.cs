using System.Globalization;
using Microsoft.Data.Sqlite;
using Rekey.Access;
using Rekey.Audit;
using Rekey.Errors;
using Rekey.Keys;

namespace Rekey.Storage.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode with <c>synchronous=FULL</c> (a committed
/// change survives power loss) and <c>secure_delete=ON</c> (erased material is overwritten, not
/// left in free pages). Safe for several processes on one machine.
/// </summary>
/// <remarks>
/// Each change runs in a <c>BEGIN IMMEDIATE</c> transaction, which also serializes audit
/// appends, so sequence numbers and hash links never fork. After a version is destroyed the WAL
/// is checkpointed and truncated so the old page images holding its material are gone too.
/// Changes made by other processes are noticed by polling the audit table (see
/// <see cref="IKeyChangeFeed"/>), every 250 ms by default.
/// </remarks>
public sealed partial class SqliteKeyStore : IKeyStore, ITokenStore, IAuditCheckpointStore, IKeyChangeFeed, IRewrapJobStore, IDataSourceStore
{
    /// <summary>How often other processes' changes are looked for, unless told otherwise.</summary>
    public static readonly TimeSpan DefaultChangePollInterval = TimeSpan.FromMilliseconds(250);

    private readonly string _connectionString;
    private readonly TimeProvider _time;
    private SqliteChangePoller? _poller;

    private SqliteKeyStore(string connectionString, TimeProvider time)
    {
        _connectionString = connectionString;
        _time = time;
    }

    /// <inheritdoc />
    public event EventHandler<KeyChangedEventArgs>? KeyChanged;

    /// <inheritdoc />
    public bool IsLive => _poller?.IsLive ?? false;

    /// <summary>Runs inside a change's transaction after its version updates; tests inject faults and pauses here.</summary>
    internal Action? AfterVersionUpdates { get; set; }

    /// <summary>The database file.</summary>
    public string Path { get; private init; } = string.Empty;

    /// <summary>
    /// Opens (creating when missing) the store at <paramref name="path"/>, brings its schema up
    /// to date, and polls for other processes' changes every <paramref name="changePollInterval"/>
    /// (default <see cref="DefaultChangePollInterval"/>; <see cref="TimeSpan.Zero"/> turns polling off).
    /// </summary>
    public static async Task<SqliteKeyStore> OpenAsync(string path, TimeProvider? timeProvider = null, TimeSpan? changePollInterval = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);

        // SQLite creates its -wal and -shm files with the database file's mode: 0600 for all three.
        PrivateFiles.CreateIfMissing(path);
        PrivateFiles.EnsurePrivate(path, "The store database");
        PrivateFiles.EnsurePrivate(path + "-wal", "The store's write-ahead log");
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        var store = new SqliteKeyStore(connectionString, timeProvider ?? TimeProvider.System) { Path = System.IO.Path.GetFullPath(path) };
        await store.RunAsync(
            connection =>
            {
                using (var wal = connection.CreateCommand())
                {
                    wal.CommandText = "PRAGMA journal_mode=WAL;";
                    wal.ExecuteNonQuery();
                }

                SqliteSchema.Migrate(connection, store._time.GetUtcNow().ToUnixTimeMilliseconds());
                return 0;
            },
            cancellationToken).ConfigureAwait(false);
        var interval = changePollInterval ?? DefaultChangePollInterval;
        if (interval > TimeSpan.Zero)
        {
            store._poller = new SqliteChangePoller(connectionString, interval, store._time, key => store.KeyChanged?.Invoke(store, new KeyChangedEventArgs(key)));
        }

        return store;
    }

    /// <inheritdoc />
    public async Task CreateKeyAsync(StoredKey key, StoredKeyVersion firstVersion, AuditRecord audit, CancellationToken cancellationToken = default)
    {
        await RunAsync(
            connection =>
            {
                using var transaction = connection.BeginTransaction();
                using (var insert = Command(connection, transaction, $"INSERT INTO keys ({StoreRows.KeyColumns}) VALUES ($n, $c, $m, $d, $a);"))
                {
                    insert.Parameters.AddWithValue("$n", key.Name.Value);
                    insert.Parameters.AddWithValue("$c", key.CreatedAt.ToUnixTimeMilliseconds());
                    insert.Parameters.AddWithValue("$m", key.MinDecryptionVersion);
                    insert.Parameters.AddWithValue("$d", (long)key.DestructionDelay.TotalMilliseconds);
                    insert.Parameters.AddWithValue("$a", key.DeletionAllowed);
                    try
                    {
                        insert.ExecuteNonQuery();
                    }
                    catch (SqliteException e) when (e.SqliteErrorCode == 19)
                    {
                        throw new RekeyException(RekeyErrorCode.KeyExists, $"Key '{key.Name}' already exists.");
                    }
                }

                InsertVersion(connection, transaction, firstVersion);
                AppendAudit(connection, transaction, audit);
                transaction.Commit();
                return 0;
            },
            cancellationToken).ConfigureAwait(false);
        RaiseChanged(key.Name);
    }

    /// <inheritdoc />
    public Task<StoredKey?> FindKeyAsync(KeyName name, CancellationToken cancellationToken = default) =>
        RunAsync(
            connection =>
            {
                using var command = Command(connection, null, $"SELECT {StoreRows.KeyColumns} FROM keys WHERE name = $n;");
                command.Parameters.AddWithValue("$n", name.Value);
                using var reader = command.ExecuteReader();
                return reader.Read() ? StoreRows.ReadKey(reader) : null;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<long> CountKeysAsync(CancellationToken cancellationToken = default) =>
        RunAsync(
            connection =>
            {
                using var command = Command(connection, null, "SELECT count(*) FROM keys;");
                return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredKey>> ListKeysAsync(string? prefix, CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<StoredKey>>(
            connection =>
            {
                // substr rather than LIKE: key names contain '_', a LIKE wildcard.
                using var command = Command(connection, null, $"SELECT {StoreRows.KeyColumns} FROM keys WHERE substr(name, 1, length($p)) = $p ORDER BY name;");
                command.Parameters.AddWithValue("$p", prefix ?? string.Empty);
                using var reader = command.ExecuteReader();
                var keys = new List<StoredKey>();
                while (reader.Read())
                {
                    keys.Add(StoreRows.ReadKey(reader));
                }

                return keys;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredKeyVersion>> GetVersionsAsync(KeyName name, CancellationToken cancellationToken = default) =>
        ReadVersionsAsync("key_name = $n ORDER BY version", "$n", name.Value, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredKeyVersion>> GetRetiringDueAsync(DateTimeOffset now, CancellationToken cancellationToken = default) =>
        ReadVersionsAsync("state = 'Retiring' AND retire_deadline <= $t ORDER BY key_name, version", "$t", now.ToUnixTimeMilliseconds(), cancellationToken);

    private Task<IReadOnlyList<StoredKeyVersion>> ReadVersionsAsync(string where, string parameter, object value, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<StoredKeyVersion>>(
            connection =>
            {
                using var command = Command(connection, null, $"SELECT {StoreRows.VersionColumns} FROM key_versions WHERE {where};");
                command.Parameters.AddWithValue(parameter, value);
                using var reader = command.ExecuteReader();
                var versions = new List<StoredKeyVersion>();
                while (reader.Read())
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
        var destroyed = await RunAsync(
            connection =>
            {
                using var transaction = connection.BeginTransaction();
                using (var exists = Command(connection, transaction, "SELECT 1 FROM keys WHERE name = $n;"))
                {
                    exists.Parameters.AddWithValue("$n", change.Key.Value);
                    if (exists.ExecuteScalar() is null)
                    {
                        throw new RekeyException(RekeyErrorCode.KeyNotFound, $"Key '{change.Key}' does not exist.");
                    }
                }

                foreach (var update in change.Updates)
                {
                    UpdateVersion(connection, transaction, update);
                }

                if (change.Insert is not null)
                {
                    InsertVersion(connection, transaction, change.Insert);
                }

                AfterVersionUpdates?.Invoke();

                if (change.KeyUpdate is { } key)
                {
                    using var command = Command(connection, transaction, "UPDATE keys SET min_decryption_version = $m, destruction_delay_ms = $d, deletion_allowed = $a WHERE name = $n;");
                    command.Parameters.AddWithValue("$a", key.DeletionAllowed);
                    command.Parameters.AddWithValue("$n", key.Name.Value);
                    command.Parameters.AddWithValue("$m", key.MinDecryptionVersion);
                    command.Parameters.AddWithValue("$d", (long)key.DestructionDelay.TotalMilliseconds);
                    command.ExecuteNonQuery();
                }

                AppendAudit(connection, transaction, change.Audit);
                transaction.Commit();
                return change.ErasesMaterial;
            },
            cancellationToken).ConfigureAwait(false);
        RaiseChanged(change.Key);

        if (destroyed)
        {
            await TruncateWalAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task DeleteKeyAsync(KeyName name, AuditRecord audit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(audit);
        await RunAsync(
            connection =>
            {
                using var transaction = connection.BeginTransaction();
                using (var check = Command(connection, transaction, "SELECT deletion_allowed FROM keys WHERE name = $n;"))
                {
                    check.Parameters.AddWithValue("$n", name.Value);
                    switch (check.ExecuteScalar())
                    {
                        case null:
                            throw new RekeyException(RekeyErrorCode.KeyNotFound, $"Key '{name}' does not exist.");
                        case long allowed when allowed == 0:
                            throw new RekeyException(RekeyErrorCode.PolicyViolation, $"Key '{name}' does not allow deletion; set deletion_allowed first.");
                    }
                }

                using (var delete = Command(connection, transaction, "DELETE FROM key_versions WHERE key_name = $n; DELETE FROM keys WHERE name = $n;"))
                {
                    delete.Parameters.AddWithValue("$n", name.Value);
                    delete.ExecuteNonQuery();
                }

                AppendAudit(connection, transaction, audit);
                transaction.Commit();
                return 0;
            },
            cancellationToken).ConfigureAwait(false);
        RaiseChanged(name);
        await TruncateWalAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task AddUsageAsync(IReadOnlyCollection<UsageDelta> deltas, CancellationToken cancellationToken = default) =>
        RunAsync(
            connection =>
            {
                using var transaction = connection.BeginTransaction();
                using var command = Command(connection, transaction, "UPDATE key_versions SET encrypt_count = encrypt_count + $e, decrypt_count = decrypt_count + $d WHERE key_name = $n AND version = $v;");
                var e = command.Parameters.Add("$e", SqliteType.Integer);
                var d = command.Parameters.Add("$d", SqliteType.Integer);
                var n = command.Parameters.Add("$n", SqliteType.Text);
                var v = command.Parameters.Add("$v", SqliteType.Integer);
                foreach (var delta in deltas)
                {
                    (e.Value, d.Value, n.Value, v.Value) = (delta.Encrypts, delta.Decrypts, delta.Key.Value, delta.Version);
                    command.ExecuteNonQuery();
                }

                transaction.Commit();
                return 0;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task AppendAuditAsync(AuditRecord audit, CancellationToken cancellationToken = default) =>
        RunAsync(
            connection =>
            {
                using var transaction = connection.BeginTransaction();
                AppendAudit(connection, transaction, audit);
                transaction.Commit();
                return 0;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<AuditEvent>> ReadAuditAsync(long afterSequence, int limit, CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<AuditEvent>>(
            connection =>
            {
                using var command = Command(connection, null, $"SELECT {StoreRows.AuditColumns} FROM audit_events WHERE seq > $a ORDER BY seq LIMIT $l;");
                command.Parameters.AddWithValue("$a", afterSequence);
                command.Parameters.AddWithValue("$l", limit);
                using var reader = command.ExecuteReader();
                var events = new List<AuditEvent>();
                while (reader.Read())
                {
                    events.Add(StoreRows.ReadAuditEvent(reader));
                }

                return events;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task CreateTokenAsync(AccessToken token, AuditRecord audit, CancellationToken cancellationToken = default) =>
        RunAsync(
            connection =>
            {
                ArgumentNullException.ThrowIfNull(token);
                using var transaction = connection.BeginTransaction();
                using (var insert = Command(connection, transaction, $"INSERT INTO tokens ({StoreRows.TokenColumns}) VALUES ($i, $n, $r, $p, $h, $c, $e, $v) ON CONFLICT DO NOTHING;"))
                {
                    insert.Parameters.AddWithValue("$i", token.Id);
                    insert.Parameters.AddWithValue("$n", token.Name);
                    insert.Parameters.AddWithValue("$r", StoreRows.FormatRoles(token.Roles));
                    insert.Parameters.AddWithValue("$p", StoreRows.FormatPatterns(token.Patterns));
                    insert.Parameters.AddWithValue("$h", token.SecretHash);
                    insert.Parameters.AddWithValue("$c", token.CreatedAt.ToUnixTimeMilliseconds());
                    insert.Parameters.AddWithValue("$e", Millis(token.ExpiresAt));
                    insert.Parameters.AddWithValue("$v", Millis(token.RevokedAt));
                    if (insert.ExecuteNonQuery() == 0)
                    {
                        throw StoreRows.TokenConflict(token.Id);
                    }
                }

                AppendAudit(connection, transaction, audit);
                transaction.Commit();
                return 0;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<AccessToken?> FindTokenAsync(string id, CancellationToken cancellationToken = default) =>
        RunAsync(
            connection =>
            {
                using var command = Command(connection, null, $"SELECT {StoreRows.TokenColumns} FROM tokens WHERE id = $i;");
                command.Parameters.AddWithValue("$i", id);
                using var reader = command.ExecuteReader();
                return reader.Read() ? StoreRows.ReadToken(reader) : null;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<AccessToken>> ListTokensAsync(CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<AccessToken>>(
            connection =>
            {
                using var command = Command(connection, null, $"SELECT {StoreRows.TokenColumns} FROM tokens ORDER BY created_at, id;");
                using var reader = command.ExecuteReader();
                var tokens = new List<AccessToken>();
                while (reader.Read())
                {
                    tokens.Add(StoreRows.ReadToken(reader));
                }

                return tokens;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task RevokeTokenAsync(string id, DateTimeOffset revokedAt, AuditRecord audit, CancellationToken cancellationToken = default) =>
        RunAsync(
            connection =>
            {
                using var transaction = connection.BeginTransaction();
                using (var update = Command(connection, transaction, "UPDATE tokens SET revoked_at = $v WHERE id = $i AND revoked_at IS NULL;"))
                {
                    update.Parameters.AddWithValue("$i", id);
                    update.Parameters.AddWithValue("$v", revokedAt.ToUnixTimeMilliseconds());
                    if (update.ExecuteNonQuery() == 0)
                    {
                        using var exists = Command(connection, transaction, "SELECT 1 FROM tokens WHERE id = $i;");
                        exists.Parameters.AddWithValue("$i", id);
                        throw exists.ExecuteScalar() is null ? StoreRows.TokenNotFound(id) : StoreRows.TokenConflict(id);
                    }
                }

                AppendAudit(connection, transaction, audit);
                transaction.Commit();
                return 0;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task AddSigningKeyAsync(StoredSigningKey key, AuditRecord audit, CancellationToken cancellationToken = default) =>
        RunAsync(
            connection =>
            {
                ArgumentNullException.ThrowIfNull(key);
                using var transaction = connection.BeginTransaction();
                using (var insert = Command(connection, transaction, $"INSERT INTO audit_signing_keys ({StoreRows.SigningKeyColumns}) VALUES ($i, $p, $w, $r, $c);"))
                {
                    insert.Parameters.AddWithValue("$i", key.KeyId);
                    insert.Parameters.AddWithValue("$p", key.PublicKey);
                    insert.Parameters.AddWithValue("$w", key.WrappedPrivateKey);
                    insert.Parameters.AddWithValue("$r", key.RootKeyId);
                    insert.Parameters.AddWithValue("$c", key.CreatedAt.ToUnixTimeMilliseconds());
                    insert.ExecuteNonQuery();
                }

                AppendAudit(connection, transaction, audit);
                transaction.Commit();
                return 0;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredSigningKey>> GetSigningKeysAsync(CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<StoredSigningKey>>(
            connection =>
            {
                using var command = Command(connection, null, $"SELECT {StoreRows.SigningKeyColumns} FROM audit_signing_keys ORDER BY created_at, key_id;");
                using var reader = command.ExecuteReader();
                var keys = new List<StoredSigningKey>();
                while (reader.Read())
                {
                    keys.Add(StoreRows.ReadSigningKey(reader));
                }

                return keys;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task AddCheckpointAsync(AuditCheckpoint checkpoint, CancellationToken cancellationToken = default) =>
        RunAsync(
            connection =>
            {
                ArgumentNullException.ThrowIfNull(checkpoint);
                using var insert = Command(connection, null, $"INSERT INTO audit_checkpoints ({StoreRows.CheckpointColumns}) VALUES ($s, $h, $t, $k, $g) ON CONFLICT DO NOTHING;");
                insert.Parameters.AddWithValue("$s", checkpoint.Sequence);
                insert.Parameters.AddWithValue("$h", checkpoint.Hash);
                insert.Parameters.AddWithValue("$t", checkpoint.Time.ToUnixTimeMilliseconds());
                insert.Parameters.AddWithValue("$k", checkpoint.KeyId);
                insert.Parameters.AddWithValue("$g", checkpoint.Signature);
                return insert.ExecuteNonQuery();
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<AuditCheckpoint>> GetCheckpointsAsync(CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<AuditCheckpoint>>(
            connection =>
            {
                using var command = Command(connection, null, $"SELECT {StoreRows.CheckpointColumns} FROM audit_checkpoints ORDER BY seq;");
                using var reader = command.ExecuteReader();
                var checkpoints = new List<AuditCheckpoint>();
                while (reader.Read())
                {
                    checkpoints.Add(StoreRows.ReadCheckpoint(reader));
                }

                return checkpoints;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<AuditHead?> GetAuditHeadAsync(CancellationToken cancellationToken = default) =>
        RunAsync<AuditHead?>(
            connection =>
            {
                using var command = Command(connection, null, "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1;");
                using var reader = command.ExecuteReader();
                return reader.Read() ? new AuditHead(reader.GetInt64(0), reader.GetString(1)) : null;
            },
            cancellationToken);

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _poller?.Dispose();
        SqliteConnection.ClearAllPools();
        return ValueTask.CompletedTask;
    }

    // Services sharing this store object learn of the change at once; other processes through the poller.
    private void RaiseChanged(KeyName key) => KeyChanged?.Invoke(this, new KeyChangedEventArgs(key));

    private Task TruncateWalAsync(CancellationToken cancellationToken) =>
        RunAsync(
            connection =>
            {
                using var command = Command(connection, null, "PRAGMA wal_checkpoint(TRUNCATE);");
                command.ExecuteNonQuery();
                return 0;
            },
            cancellationToken);

    private static void UpdateVersion(SqliteConnection connection, SqliteTransaction transaction, VersionUpdate update)
    {
        var row = update.Updated;
        using var command = Command(
            connection,
            transaction,
            """
            UPDATE key_versions SET state = $state, material = $material, root_key_id = $root, activated_at = $activated,
                deactivated_at = $deactivated, retire_deadline = $deadline, destroy_after = $destroyAfter, destroyed_at = $destroyed
            WHERE key_name = $key AND version = $version AND state = $expected;
            """);
        BindVersion(command, row);
        command.Parameters.AddWithValue("$expected", update.ExpectedState.ToString());
        int changed;
        try
        {
            changed = command.ExecuteNonQuery();
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19)
        {
            throw StoreRows.Conflict(row.Info.Key, row.Info.Version);
        }

        if (changed == 0)
        {
            throw StoreRows.Conflict(row.Info.Key, row.Info.Version);
        }
    }

    private static void InsertVersion(SqliteConnection connection, SqliteTransaction transaction, StoredKeyVersion row)
    {
        using var command = Command(
            connection,
            transaction,
            $"""
            INSERT INTO key_versions ({StoreRows.VersionColumns})
            VALUES ($key, $version, $state, $material, $root, $created, $activated, $deactivated, $deadline, $destroyAfter, $destroyed, $encrypts, $decrypts);
            """);
        BindVersion(command, row);
        command.Parameters.AddWithValue("$created", row.Info.CreatedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$encrypts", row.Info.EncryptCount);
        command.Parameters.AddWithValue("$decrypts", row.Info.DecryptCount);
        try
        {
            command.ExecuteNonQuery();
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19)
        {
            throw StoreRows.Conflict(row.Info.Key, row.Info.Version);
        }
    }

    private static void BindVersion(SqliteCommand command, StoredKeyVersion row)
    {
        var info = row.Info;
        command.Parameters.AddWithValue("$key", info.Key.Value);
        command.Parameters.AddWithValue("$version", info.Version);
        command.Parameters.AddWithValue("$state", info.State.ToString());
        command.Parameters.Add("$material", SqliteType.Blob).Value = (object?)row.WrappedMaterial ?? DBNull.Value;
        command.Parameters.AddWithValue("$root", row.RootKeyId);
        command.Parameters.AddWithValue("$activated", Millis(info.ActivatedAt));
        command.Parameters.AddWithValue("$deactivated", Millis(info.DeactivatedAt));
        command.Parameters.AddWithValue("$deadline", Millis(info.RetireDeadline));
        command.Parameters.AddWithValue("$destroyAfter", Millis(info.DestroyAfter));
        command.Parameters.AddWithValue("$destroyed", Millis(info.DestroyedAt));
    }

    private static void AppendAudit(SqliteConnection connection, SqliteTransaction transaction, AuditRecord record)
    {
        long sequence = 1;
        var previous = AuditChain.GenesisHash;
        using (var head = Command(connection, transaction, "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1;"))
        using (var reader = head.ExecuteReader())
        {
            if (reader.Read())
            {
                sequence = reader.GetInt64(0) + 1;
                previous = reader.GetString(1);
            }
        }

        var sealedEvent = AuditChain.Seal(record, sequence, previous);
        var r = sealedEvent.Record;
        using var insert = Command(
            connection,
            transaction,
            $"INSERT INTO audit_events ({StoreRows.AuditColumns}) VALUES ($s, $t, $a, $ac, $k, $f, $to, $o, $d, $p, $h, $re, $rq, $cl, $pt);");
        insert.Parameters.AddWithValue("$s", sealedEvent.Sequence);
        insert.Parameters.AddWithValue("$t", r.Time.ToUnixTimeMilliseconds());
        insert.Parameters.AddWithValue("$a", r.Actor);
        insert.Parameters.AddWithValue("$ac", r.Action);
        insert.Parameters.AddWithValue("$k", (object?)r.Key ?? DBNull.Value);
        insert.Parameters.AddWithValue("$f", (object?)r.FromVersion ?? DBNull.Value);
        insert.Parameters.AddWithValue("$to", (object?)r.ToVersion ?? DBNull.Value);
        insert.Parameters.AddWithValue("$o", r.Outcome);
        insert.Parameters.AddWithValue("$d", (object?)r.Details ?? DBNull.Value);
        insert.Parameters.AddWithValue("$p", sealedEvent.PreviousHash);
        insert.Parameters.AddWithValue("$h", sealedEvent.Hash);
        insert.Parameters.AddWithValue("$re", (object?)r.Reason ?? DBNull.Value);
        insert.Parameters.AddWithValue("$rq", (object?)r.RequestId ?? DBNull.Value);
        insert.Parameters.AddWithValue("$cl", (object?)r.Client ?? DBNull.Value);
        insert.Parameters.AddWithValue("$pt", (object?)r.PresentedTokenId ?? DBNull.Value);
        insert.ExecuteNonQuery();
    }

    private static object Millis(DateTimeOffset? time) => time is { } t ? t.ToUnixTimeMilliseconds() : DBNull.Value;

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private async Task<T> RunAsync<T>(Func<SqliteConnection, T> work, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            await using var connection = new SqliteConnection(_connectionString);
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            using (var pragmas = connection.CreateCommand())
            {
                pragmas.CommandText = "PRAGMA synchronous=FULL; PRAGMA secure_delete=ON; PRAGMA foreign_keys=ON;";
                pragmas.ExecuteNonQuery();
            }

            return work(connection);
        }
        catch (SqliteException e)
        {
            // SQLITE_BUSY (5) and SQLITE_LOCKED (6) outlasted the busy timeout: another writer holds the lock.
            var transient = e.SqliteErrorCode is 5 or 6;
            throw new RekeyStoreException($"The SQLite store failed: {e.Message}", transient, e);
        }
        catch (IOException e)
        {
            throw new RekeyStoreException($"The SQLite store failed: {e.Message}", isTransient: false, e);
        }
    }
}
