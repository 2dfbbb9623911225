using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Rekey.Rewrap.Sources;

/// <summary>
/// A SQLite table. Reads by keyset; writes a batch in one immediate transaction of prepared
/// conditional updates (<c>WHERE id = ? AND column IS ?</c> for every ciphertext column), so an
/// application's write is never overwritten. Rows are read and written through
/// <see cref="SqliteStatement"/>, on UTF-8 bytes.
/// </summary>
internal sealed class SqliteTableSource : IRewrapSource
{
    private const int BusyTimeoutMilliseconds = 30_000;

    private readonly SourceDefinition _source;
    private readonly string _connectionString;
    private readonly string _select;
    private readonly string _selectFirst;
    private readonly string _update;
    private readonly string _count;
    private readonly bool[] _text;

    public SqliteTableSource(SourceDefinition source, bool descending)
    {
        _source = source;
        var sql = new SourceSql(source);
        var path = Path.GetFullPath(source.Connection);
        if (!File.Exists(path))
        {
            throw new Errors.RekeyException(Errors.RekeyErrorCode.InvalidRequest, $"The SQLite source '{path}' does not exist.");
        }

        Name = $"sqlite://{path}/{source.Table}";
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWrite, DefaultTimeout = BusyTimeoutMilliseconds / 1000 }.ToString();
        _text = source.Columns.Select(c => c.Format == CiphertextFormat.Text).ToArray();

        // Numbered parameters: ?1 the id (or the position after which to read), ?2 the limit,
        // ?3 the filter value; in the update, ?2.. the new values and then the old ones.
        var order = descending ? "DESC" : "ASC";
        var compare = descending ? "<" : ">";
        var filter = sql.Filter is null ? string.Empty : $" AND {sql.Filter} = ?3";
        var columns = string.Join(", ", sql.Columns);
        _select = $"SELECT {sql.Id}, {columns} FROM {sql.Table} WHERE {sql.Id} {compare} ?1{filter} ORDER BY {sql.Id} {order} LIMIT ?2;";
        _selectFirst = $"SELECT {sql.Id}, {columns} FROM {sql.Table} WHERE 1{filter} ORDER BY {sql.Id} {order} LIMIT ?2;";
        _count = $"SELECT count(*) FROM {sql.Table} WHERE 1{filter};";
        var width = sql.Columns.Length;
        var set = string.Join(", ", sql.Columns.Select((c, i) => $"{c} = coalesce(?{2 + i}, {c})"));
        var unchanged = string.Join(" AND ", sql.Columns.Select((c, i) => $"{c} IS ?{2 + width + i}"));
        _update = $"UPDATE {sql.Table} SET {set} WHERE {sql.Id} = ?1 AND {unchanged};";
    }

    public string Name { get; }

    public async Task<long> CountAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var count = new SqliteStatement(connection, _count);
        BindFilter(count);
        count.Step();
        return count.Int64(0);
    }

    public async Task<IReadOnlyList<SourceRow>> ReadAsync(object? after, int limit, ByteArena arena, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var select = new SqliteStatement(connection, after is null ? _selectFirst : _select);
        if (after is not null)
        {
            select.Bind(1, after);
        }

        select.Bind(2, limit);
        BindFilter(select);

        var rows = new List<SourceRow>(limit);
        var integerIds = _source.IdKind == IdKind.Integer;
        while (select.Step())
        {
            cancellationToken.ThrowIfCancellationRequested();
            object id = integerIds ? select.Int64(0) : select.Text(0);
            var values = new ReadOnlyMemory<byte>?[_text.Length];
            for (var i = 0; i < values.Length; i++)
            {
                // Not a conditional expression: "? null :" would make NULL an empty value, through
                // the memory type's conversion from a (null) array.
                if (!select.IsNull(i + 1))
                {
                    values[i] = arena.Copy(select.Bytes(i + 1, _text[i]));
                }
            }

            rows.Add(new SourceRow(id, values));
        }

        return rows;
    }

    public async Task<bool[]> WriteAsync(IReadOnlyList<RowUpdate> updates, CancellationToken cancellationToken)
    {
        var written = new bool[updates.Count];
        if (updates.Count == 0)
        {
            return written;
        }

        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            SqliteStatement.Execute(connection, "BEGIN IMMEDIATE;");
            using (var update = new SqliteStatement(connection, _update))
            {
                var width = _text.Length;
                for (var u = 0; u < updates.Count; u++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var row = updates[u];
                    update.Bind(1, row.Id);
                    for (var i = 0; i < width; i++)
                    {
                        update.Bind(2 + i, row.New[i], _text[i]);
                        update.Bind(2 + width + i, row.Old[i], _text[i]);
                    }

                    update.Step();
                    written[u] = update.Changes == 1;
                    update.Reset();
                }
            }

            SqliteStatement.Execute(connection, "COMMIT;");
            return written;
        }
        finally
        {
            // Whatever went wrong, the pooled connection goes back with no transaction open.
            if (raw.sqlite3_get_autocommit(connection.Handle) == 0)
            {
                SqliteStatement.Execute(connection, "ROLLBACK;");
            }
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private void BindFilter(SqliteStatement statement)
    {
        if (_source.FilterColumn is not null)
        {
            statement.Bind(3, _source.FilterValue!);
        }
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);

        // Statements run through the C API wait for a busy database as ADO.NET commands do.
        raw.sqlite3_busy_timeout(connection.Handle, BusyTimeoutMilliseconds);
        return connection;
    }
}
