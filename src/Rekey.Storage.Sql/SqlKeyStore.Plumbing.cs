using System.Data;
using System.Data.Common;
using Rekey.Keys;

namespace Rekey.Storage.Sql;

/// <summary>How the engine runs statements: connections, transactions, typed parameters and error translation.</summary>
public abstract partial class SqlKeyStore
{
    /// <summary>
    /// One write transaction: the dialect's write lock first, then the work, then the change
    /// announced (delivered on commit) and, after the commit, raised to this object's listeners.
    /// </summary>
    private Task<TResult> WriteAsync<TResult>(KeyName? changed, Func<DbConnection, DbTransaction, CancellationToken, Task<TResult>> work, CancellationToken cancellationToken) =>
        RunAsync(
            async (connection, ct) =>
            {
                await using var transaction = await Dialect.BeginWriteAsync(connection, ct).ConfigureAwait(false);
                var result = await work(connection, transaction, ct).ConfigureAwait(false);
                if (changed is { } key)
                {
                    await Dialect.AnnounceAsync(connection, transaction, key, ct).ConfigureAwait(false);
                }

                await transaction.CommitAsync(ct).ConfigureAwait(false);
                if (changed is { } committed)
                {
                    RaiseChanged(committed);
                }

                return result;
            },
            cancellationToken);

    /// <summary>
    /// Inserts one row and appends its audit event in one write transaction. With
    /// <paramref name="taken"/>, the statement is expected to say <c>ON CONFLICT DO NOTHING</c>,
    /// and a row already there is refused with that error.
    /// </summary>
    private Task InsertAuditedAsync(string sql, Action<DbCommand> bind, Func<Exception>? taken, Audit.AuditRecord audit, CancellationToken cancellationToken) =>
        WriteAsync(
            null,
            async (connection, transaction, ct) =>
            {
                await using (var insert = Command(connection, transaction, sql))
                {
                    bind(insert);
                    if (await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0 && taken is not null)
                    {
                        throw taken();
                    }
                }

                await AppendAuditAsync(connection, transaction, audit, ct).ConfigureAwait(false);
                return 0;
            },
            cancellationToken);

    /// <summary>Runs <paramref name="work"/> on an open connection, engine errors turned into <see cref="Rekey.Errors.RekeyStoreException"/>.</summary>
    private Task<TResult> RunAsync<TResult>(Func<DbConnection, CancellationToken, Task<TResult>> work, CancellationToken cancellationToken) =>
        GuardAsync(
            async ct =>
            {
                await using var connection = await Dialect.OpenAsync(ct).ConfigureAwait(false);
                return await work(connection, ct).ConfigureAwait(false);
            },
            cancellationToken);

    /// <summary>Runs <paramref name="work"/>, engine errors (and I/O errors under them) turned into <see cref="Rekey.Errors.RekeyStoreException"/> by the dialect.</summary>
    protected async Task<TResult> GuardAsync<TResult>(Func<CancellationToken, Task<TResult>> work, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return await work(cancellationToken).ConfigureAwait(false);
        }
        catch (DbException e)
        {
            throw Dialect.Wrap(e);
        }
        catch (IOException e)
        {
            throw Dialect.Wrap(e);
        }
    }

    /// <summary>Reads every row <paramref name="sql"/> selects, each with <paramref name="read"/>.</summary>
    private Task<IReadOnlyList<TRow>> ReadAsync<TRow>(string sql, Action<DbCommand>? bind, Func<DbDataReader, TRow> read, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<TRow>>(
            async (connection, ct) =>
            {
                await using var command = Command(connection, null, sql);
                bind?.Invoke(command);
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                var rows = new List<TRow>();
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    rows.Add(read(reader));
                }

                return rows;
            },
            cancellationToken);

    /// <summary>The table's name as this engine's statements write it.</summary>
    private string T(string table) => Dialect.Table(table);

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    // Parameters are bound in order: the next one is $n, n = how many the command has plus one.
    // Each is typed, so a null binds as the column's type on engines that need to know it.
    private DbParameter Text(DbCommand command, string? value) => Bind(command, DbType.String, value);

    private DbParameter Int64(DbCommand command, long? value) => Bind(command, DbType.Int64, value);

    private DbParameter Int32(DbCommand command, int? value) => Bind(command, DbType.Int32, value);

    private DbParameter Bool(DbCommand command, bool value) => Bind(command, DbType.Boolean, value);

    private DbParameter Bytes(DbCommand command, byte[]? value) => Bind(command, DbType.Binary, value);

    private DbParameter Millis(DbCommand command, DateTimeOffset? time) => Int64(command, time?.ToUnixTimeMilliseconds());

    private DbParameter Bind(DbCommand command, DbType type, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.DbType = type;
        parameter.Value = value ?? DBNull.Value;
        Dialect.NameParameter(parameter, command.Parameters.Count + 1);
        command.Parameters.Add(parameter);
        return parameter;
    }
}
