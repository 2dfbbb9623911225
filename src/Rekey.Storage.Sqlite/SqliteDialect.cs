using System.Data.Common;
using Microsoft.Data.Sqlite;
using Rekey.Storage.Sql;

namespace Rekey.Storage.Sqlite;

/// <summary>
/// SQLite for the store engine: every connection runs with <c>synchronous=FULL</c>,
/// <c>secure_delete=ON</c> and foreign keys on; writers take the database's write lock with
/// <c>BEGIN IMMEDIATE</c>; after erasure the write-ahead log is checkpointed and truncated.
/// </summary>
internal sealed class SqliteDialect(string connectionString) : SqlDialect
{
    // Extended result codes (https://www.sqlite.org/rescode.html): a uniqueness violation is not
    // a CHECK or NOT NULL failure, which share the primary code SQLITE_CONSTRAINT (19).
    private const int ConstraintPrimaryKey = 1555;
    private const int ConstraintUnique = 2067;
    private const int Busy = 5;
    private const int Locked = 6;

    public override string Name => "SQLite";

    public override string Table(string name) => name;

    public override string StartsWith(string column, string parameter) => $"substr({column}, 1, length({parameter})) = {parameter}";

    public override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var pragmas = connection.CreateCommand();
            pragmas.CommandText = "PRAGMA synchronous=FULL; PRAGMA secure_delete=ON; PRAGMA foreign_keys=ON;";
            await pragmas.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // Microsoft.Data.Sqlite begins non-deferred transactions with BEGIN IMMEDIATE: the write lock
    // is taken at once (waiting up to the busy timeout), so two writers never both read the head.
    public override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void NameParameter(DbParameter parameter, int position)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        parameter.ParameterName = "$" + position.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public override async Task ScrubAsync(long? mark, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public override bool IsUniqueViolation(DbException error) =>
        error is SqliteException { SqliteExtendedErrorCode: ConstraintPrimaryKey or ConstraintUnique };

    // SQLITE_BUSY and SQLITE_LOCKED outlasted the busy timeout: another writer holds the lock.
    public override bool IsTransient(DbException error) => error is SqliteException { SqliteErrorCode: Busy or Locked };
}
