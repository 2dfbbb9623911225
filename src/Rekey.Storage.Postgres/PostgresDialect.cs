using System.Data.Common;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Npgsql;
using Rekey.Keys;
using Rekey.Storage.Sql;

namespace Rekey.Storage.Postgres;

/// <summary>
/// PostgreSQL for the store engine: tables in the <c>rekey</c> schema; writers take one
/// transaction-scoped advisory lock; changes are announced with NOTIFY (delivered on commit);
/// after erasure, once no snapshot can still see the old rows, <c>key_versions</c> is rewritten
/// (VACUUM FULL) so erased material does not linger in dead row versions.
/// </summary>
internal sealed class PostgresDialect(NpgsqlDataSource dataSource, TimeProvider time, ILogger logger) : SqlDialect
{
    // SQLSTATE classes (https://www.postgresql.org/docs/current/errcodes-appendix.html).
    private const string UniqueViolation = "23505";
    private const string SerializationFailure = "40001";
    private const string DeadlockDetected = "40P01";
    private static readonly TimeSpan ScrubWait = TimeSpan.FromSeconds(10);

    public override string Name => "PostgreSQL";

    // Text columns sort by the database's collation otherwise; key names and ids sort by bytes.
    public override string ByteOrder => " COLLATE \"C\"";

    public override string ForUpdate => " FOR UPDATE";

    public override string Table(string name) => "rekey." + name;

    public override string StartsWith(string column, string parameter) => $"starts_with({column}, {parameter})";

    public override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    public override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var lockAudit = connection.CreateCommand();
            lockAudit.Transaction = transaction;
            lockAudit.CommandText = $"SELECT pg_advisory_xact_lock({PostgresSchema.AuditLock});";
            await lockAudit.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return transaction;
        }
        catch
        {
            await transaction.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // Npgsql binds $1, $2, ... by position when parameters have no name.
    public override void NameParameter(DbParameter parameter, int position)
    {
    }

    public override async Task AnnounceAsync(DbConnection connection, DbTransaction transaction, KeyName key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using var notify = new NpgsqlCommand($"SELECT pg_notify('{PostgresSchema.Channel}', $1);", (NpgsqlConnection)connection, (NpgsqlTransaction)transaction);
        notify.Parameters.AddWithValue(key.Value);
        await notify.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public override async Task<long?> MarkErasureAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using var xid = new NpgsqlCommand("SELECT txid_current();", (NpgsqlConnection)connection, (NpgsqlTransaction)transaction);
        return Convert.ToInt64(await xid.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Waits (up to 10 s) until every snapshot that could still see the rows the erasing
    /// transaction <paramref name="mark"/> replaced has ended, then rewrites the table: VACUUM
    /// FULL cannot remove row versions an open snapshot may still need.
    /// </summary>
    public override async Task ScrubAsync(long? mark, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        if (mark is { } erasing)
        {
            var announced = false;
            while (true)
            {
                await using var horizon = dataSource.CreateCommand("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint;");
                if (Convert.ToInt64(await horizon.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) > erasing)
                {
                    break;
                }

                if (time.GetElapsedTime(started) >= ScrubWait)
                {
                    PostgresLog.ErasureWaitGaveUp(logger, erasing, ScrubWait.TotalSeconds);
                    break;
                }

                if (!announced)
                {
                    PostgresLog.ErasureWaiting(logger, erasing);
                    announced = true;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(20), time, cancellationToken).ConfigureAwait(false);
            }
        }

        var rewriting = time.GetTimestamp();
        await using var vacuum = dataSource.CreateCommand("VACUUM FULL rekey.key_versions;");
        await vacuum.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        PostgresLog.ErasureDone(logger, time.GetElapsedTime(rewriting).TotalMilliseconds);
    }

    public override bool IsUniqueViolation(DbException error) => error is PostgresException { SqlState: UniqueViolation };

    public override bool IsTransient(DbException error) =>
        error is NpgsqlException { IsTransient: true } || error is PostgresException { SqlState: SerializationFailure or DeadlockDetected };
}
