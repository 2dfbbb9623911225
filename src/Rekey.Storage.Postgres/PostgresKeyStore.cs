using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Rekey.Keys;
using Rekey.Storage.Sql;

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
public sealed class PostgresKeyStore : SqlKeyStore
{
    private readonly NpgsqlDataSource _dataSource;
    private PostgresChangeListener? _listener;

    // The erasure wait runs on the system clock whatever clock the store is given: it waits for
    // other transactions in the database, which run in real time (a test's manual clock would
    // never let it end).
    private PostgresKeyStore(NpgsqlDataSource dataSource, ILogger logger)
        : base(new PostgresDialect(dataSource, TimeProvider.System, logger))
    {
        _dataSource = dataSource;
    }

    /// <inheritdoc />
    public override bool IsLive => _listener?.IsLive ?? false;

    /// <summary>
    /// Connects, brings the schema up to date, and (unless <paramref name="listen"/> is false)
    /// starts listening for changes made by other instances. The listener's reconnects and the
    /// wait before an erasure's table rewrite are logged to <paramref name="loggerFactory"/>
    /// (category <c>Rekey.Storage.Postgres</c>, event ids 4001 to 4005).
    /// </summary>
    public static async Task<PostgresKeyStore> OpenAsync(string connectionString, TimeProvider? timeProvider = null, bool listen = true, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        var normalized = PostgresConnectionString.Normalize(connectionString);
        var dataSource = NpgsqlDataSource.Create(normalized);
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Rekey.Storage.Postgres");
        var store = new PostgresKeyStore(dataSource, logger);
        try
        {
            await store.GuardAsync(
                async ct =>
                {
                    await PostgresSchema.MigrateAsync(dataSource, (timeProvider ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds(), ct).ConfigureAwait(false);
                    return 0;
                },
                cancellationToken).ConfigureAwait(false);

            if (listen)
            {
                store._listener = new PostgresChangeListener(dataSource, store.Announce, logger);
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
    public override async ValueTask DisposeAsync()
    {
        _listener?.Dispose();
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    // The listener reports keys other instances changed, or null when it cannot tell which.
    private void Announce(KeyName? key) => RaiseChanged(key);
}
