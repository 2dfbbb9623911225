using Microsoft.Data.Sqlite;
using Rekey.Keys;
using Rekey.Storage.Sql;

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
public sealed class SqliteKeyStore : SqlKeyStore
{
    /// <summary>How often other processes' changes are looked for, unless told otherwise.</summary>
    public static readonly TimeSpan DefaultChangePollInterval = TimeSpan.FromMilliseconds(250);

    private readonly TimeProvider _time;
    private readonly string _connectionString;
    private SqliteChangePoller? _poller;

    private SqliteKeyStore(string connectionString, TimeProvider time)
        : base(new SqliteDialect(connectionString))
    {
        _time = time;
        _connectionString = connectionString;
    }

    /// <inheritdoc />
    public override bool IsLive => _poller?.IsLive ?? false;

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
        await store.GuardAsync(
            async ct =>
            {
                await using var connection = new SqliteConnection(connectionString);
                await connection.OpenAsync(ct).ConfigureAwait(false);
                await using (var wal = connection.CreateCommand())
                {
                    wal.CommandText = "PRAGMA journal_mode=WAL;";
                    await wal.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                SqliteSchema.Migrate(connection, store._time.GetUtcNow().ToUnixTimeMilliseconds());
                return 0;
            },
            cancellationToken).ConfigureAwait(false);

        var interval = changePollInterval ?? DefaultChangePollInterval;
        if (interval > TimeSpan.Zero)
        {
            store._poller = new SqliteChangePoller(connectionString, interval, store._time, store.Announce);
        }

        return store;
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        _poller?.Dispose();

        // Only this store's pool: clearing every pool in the process would also reach the
        // connections of other stores open in it (a test run, a root migration between two stores).
        using (var pooled = new SqliteConnection(_connectionString))
        {
            SqliteConnection.ClearPool(pooled);
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }

    // The poller reports keys other processes changed, or null when it cannot tell which.
    private void Announce(KeyName? key) => RaiseChanged(key);
}
