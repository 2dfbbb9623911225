using Microsoft.Data.Sqlite;

namespace Rekey.Rewrap.Sources;

/// <summary>
/// A SQLite table. Reads by keyset; writes a batch in one immediate transaction of prepared
/// conditional updates (<c>WHERE id = ? AND column IS ?</c> for every ciphertext column), so an
/// application's write is never overwritten.
/// </summary>
internal sealed class SqliteTableSource : IRewrapSource
{
    private readonly SourceDefinition _source;
    private readonly string _connectionString;
    private readonly string _select;
    private readonly string _selectFirst;
    private readonly string _update;
    private readonly string _count;

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
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWrite, DefaultTimeout = 30 }.ToString();
        var order = descending ? "DESC" : "ASC";
        var compare = descending ? "<" : ">";
        var filter = sql.Filter is null ? string.Empty : $" AND {sql.Filter} = $filter";
        var columns = string.Join(", ", sql.Columns);
        _select = $"SELECT {sql.Id}, {columns} FROM {sql.Table} WHERE {sql.Id} {compare} $after{filter} ORDER BY {sql.Id} {order} LIMIT $limit;";
        _selectFirst = $"SELECT {sql.Id}, {columns} FROM {sql.Table} WHERE 1{filter} ORDER BY {sql.Id} {order} LIMIT $limit;";
        _count = $"SELECT count(*) FROM {sql.Table} WHERE 1{filter};";
        var set = string.Join(", ", sql.Columns.Select((c, i) => $"{c} = coalesce($n{i}, {c})"));
        var unchanged = string.Join(" AND ", sql.Columns.Select((c, i) => $"{c} IS $o{i}"));
        _update = $"UPDATE {sql.Table} SET {set} WHERE {sql.Id} = $id AND {unchanged};";
    }

    public string Name { get; }

    public async Task<long> CountAsync(CancellationToken cancellationToken)
    {
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = _count;
        if (_source.FilterColumn is not null)
        {
            command.Parameters.AddWithValue("$filter", _source.FilterValue);
        }

        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    public async Task<IReadOnlyList<SourceRow>> ReadAsync(object? after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = after is null ? _selectFirst : _select;
        if (after is not null)
        {
            command.Parameters.AddWithValue("$after", after);
        }

        command.Parameters.AddWithValue("$limit", limit);
        if (_source.FilterColumn is not null)
        {
            command.Parameters.AddWithValue("$filter", _source.FilterValue);
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<SourceRow>(limit);
        var width = _source.Columns.Count;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            object id = _source.IdKind == IdKind.Integer ? reader.GetInt64(0) : reader.GetString(0);
            var values = new object?[width];
            for (var i = 0; i < width; i++)
            {
                values[i] = reader.IsDBNull(i + 1) ? null : _source.Columns[i].Format == CiphertextFormat.Text ? reader.GetString(i + 1) : reader.GetFieldValue<byte[]>(i + 1);
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

        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(System.Data.IsolationLevel.Serializable, cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = _update;
        var id = command.Parameters.Add("$id", _source.IdKind == IdKind.Integer ? SqliteType.Integer : SqliteType.Text);
        var olds = new SqliteParameter[_source.Columns.Count];
        var news = new SqliteParameter[_source.Columns.Count];
        for (var i = 0; i < olds.Length; i++)
        {
            var type = _source.Columns[i].Format == CiphertextFormat.Text ? SqliteType.Text : SqliteType.Blob;
            olds[i] = command.Parameters.Add("$o" + i, type);
            news[i] = command.Parameters.Add("$n" + i, type);
        }

        command.Prepare();
        for (var u = 0; u < updates.Count; u++)
        {
            var update = updates[u];
            id.Value = update.Id;
            for (var i = 0; i < olds.Length; i++)
            {
                olds[i].Value = update.Old[i] ?? DBNull.Value;
                news[i].Value = update.New[i] ?? DBNull.Value;
            }

            // SQLite works synchronously underneath; the async call would only add a task per row.
            cancellationToken.ThrowIfCancellationRequested();
            written[u] = command.ExecuteNonQuery() == 1;
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return written;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
