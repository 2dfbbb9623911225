using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Rekey.Rewrap.Sources;

/// <summary>
/// A prepared statement driven through the SQLite C API on a Microsoft.Data.Sqlite connection's
/// handle. The re-wrap loop reads and binds ciphertexts as their UTF-8 bytes: no string, no
/// re-encoding and no boxed parameter per value, which is most of the cost of a row otherwise.
/// Errors surface as <see cref="SqliteException"/>, as they do through the ADO.NET API.
/// </summary>
internal sealed class SqliteStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;

    public SqliteStatement(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        Check(raw.sqlite3_prepare_v2(_db, sql, out _statement));
    }

    /// <summary>Rows changed by the last statement run on this connection.</summary>
    public int Changes => raw.sqlite3_changes(_db);

    public void Bind(int index, object value) => Check(value switch
    {
        long number => raw.sqlite3_bind_int64(_statement, index, number),
        int number => raw.sqlite3_bind_int64(_statement, index, number),
        string text => raw.sqlite3_bind_text(_statement, index, text),
        _ => throw new ArgumentException("Only integers and text are bound here.", nameof(value)),
    });

    /// <summary>Binds stored bytes: as text (UTF-8) for a text column, as a blob otherwise; null as NULL.</summary>
    public void Bind(int index, ReadOnlyMemory<byte>? value, bool text) => Check(value is not { } bytes
        ? raw.sqlite3_bind_null(_statement, index)
        : text ? raw.sqlite3_bind_text(_statement, index, bytes.Span) : raw.sqlite3_bind_blob(_statement, index, bytes.Span));

    /// <summary>Runs to the next row; false when done.</summary>
    public bool Step()
    {
        var result = raw.sqlite3_step(_statement);
        return result switch
        {
            raw.SQLITE_ROW => true,
            raw.SQLITE_DONE => false,
            _ => throw Error(result),
        };
    }

    /// <summary>Makes the statement ready to run again, with new bindings.</summary>
    public void Reset() => raw.sqlite3_reset(_statement);

    public bool IsNull(int column) => raw.sqlite3_column_type(_statement, column) == raw.SQLITE_NULL;

    public long Int64(int column) => raw.sqlite3_column_int64(_statement, column);

    public string Text(int column) => raw.sqlite3_column_text(_statement, column).utf8_to_string();

    /// <summary>A column's bytes (a text value's UTF-8, a blob's bytes), valid until the next step.</summary>
    public ReadOnlySpan<byte> Bytes(int column, bool text)
    {
        if (text)
        {
            // Asking for text first makes SQLite hold the value as UTF-8 (converting it in a UTF-16
            // database), so the bytes read next are UTF-8 whatever the database's encoding.
            _ = raw.sqlite3_column_text(_statement, column);
        }

        return raw.sqlite3_column_blob(_statement, column);
    }

    /// <summary>Runs a statement with no result (BEGIN, COMMIT) on the connection.</summary>
    public static void Execute(SqliteConnection connection, string sql)
    {
        using var statement = new SqliteStatement(connection, sql);
        statement.Step();
    }

    public void Dispose() => _statement.Dispose();

    private void Check(int result)
    {
        if (result != raw.SQLITE_OK)
        {
            throw Error(result);
        }
    }

    private SqliteException Error(int result) => new(raw.sqlite3_errmsg(_db).utf8_to_string(), result, raw.sqlite3_extended_errcode(_db));
}
