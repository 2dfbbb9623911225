using System.Globalization;
using Npgsql;
using NpgsqlTypes;

namespace Rekey.Rewrap.Sources;

/// <summary>
/// A PostgreSQL table. Reads by keyset (<c>id &gt; $after ORDER BY id LIMIT n</c>). Writes a batch
/// by binary COPY into a temporary table and one <c>UPDATE ... FROM</c> that only touches rows
/// whose every ciphertext column still holds the value read, so an application's write is never
/// overwritten.
/// </summary>
internal sealed class PostgresTableSource : IRewrapSource
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly SourceDefinition _source;
    private readonly string _select;
    private readonly string _selectFirst;
    private readonly string _temp;
    private readonly string _createTemp;
    private readonly string _copy;
    private readonly string _update;
    private readonly string _count;

    public PostgresTableSource(SourceDefinition source, bool descending)
    {
        _source = source;
        var sql = new SourceSql(source);
        var builder = new NpgsqlConnectionStringBuilder(source.Connection);
        Name = $"postgres://{builder.Host}:{builder.Port}/{builder.Database}/{source.Table}";
        _dataSource = NpgsqlDataSource.Create(builder.ConnectionString);

        var order = descending ? "DESC" : "ASC";
        var compare = descending ? "<" : ">";
        var collate = source.IdKind == IdKind.Text ? " COLLATE \"C\"" : string.Empty;
        var filter = sql.Filter is null ? string.Empty : $" AND {sql.Filter}::text = $3";
        var columns = string.Join(", ", sql.Columns);
        _select = $"SELECT {sql.Id}, {columns} FROM {sql.Table} WHERE {sql.Id}{collate} {compare} $1{filter} ORDER BY {sql.Id}{collate} {order} LIMIT $2;";
        _selectFirst = $"SELECT {sql.Id}, {columns} FROM {sql.Table} WHERE true{filter} ORDER BY {sql.Id}{collate} {order} LIMIT $2;";

        _count = $"SELECT count(*) FROM {sql.Table}" + (sql.Filter is null ? ";" : $" WHERE {sql.Filter}::text = $1;");

        // The temporary table's name encodes its layout, so pooled connections reuse it safely.
        var idType = source.IdKind == IdKind.Integer ? "bigint" : "text";
        var valueTypes = source.Columns.Select(c => c.Format == CiphertextFormat.Text ? "text" : "bytea").ToArray();
        _temp = "rekey_rewrap_" + (source.IdKind == IdKind.Integer ? "i" : "t") + string.Concat(source.Columns.Select(c => c.Format == CiphertextFormat.Text ? "t" : "b"));
        var tempColumns = string.Join(", ", valueTypes.Select((t, i) => $"o{i} {t}, n{i} {t}"));
        _createTemp = $"CREATE TEMP TABLE IF NOT EXISTS {_temp} (id {idType}, {tempColumns}) ON COMMIT DELETE ROWS;";
        _copy = $"COPY {_temp} (id, {string.Join(", ", valueTypes.Select((_, i) => $"o{i}, n{i}"))}) FROM STDIN (FORMAT BINARY);";
        var set = string.Join(", ", sql.Columns.Select((c, i) => $"{c} = COALESCE(b.n{i}, t.{c})"));
        var unchanged = string.Join(" AND ", sql.Columns.Select((c, i) => $"t.{c} IS NOT DISTINCT FROM b.o{i}"));
        var idCast = source.IdKind == IdKind.Integer ? "::bigint" : "::text";
        _update = $"UPDATE {sql.Table} AS t SET {set} FROM {_temp} AS b WHERE t.{sql.Id}{idCast} = b.id AND {unchanged} RETURNING b.id;";
    }

    public string Name { get; }

    public async Task<long> CountAsync(CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(_count);
        if (_source.FilterColumn is not null)
        {
            command.Parameters.AddWithValue(_source.FilterValue!);
        }

        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    public async Task<IReadOnlyList<SourceRow>> ReadAsync(object? after, int limit, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(after is null ? _selectFirst : _select);
        command.Parameters.Add(after is null ? new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text } : new NpgsqlParameter { Value = after });
        command.Parameters.AddWithValue(limit);
        if (_source.FilterColumn is not null)
        {
            command.Parameters.AddWithValue(_source.FilterValue!);
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<SourceRow>(limit);
        var width = _source.Columns.Count;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            object id = _source.IdKind == IdKind.Integer ? Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture) : reader.GetString(0);
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

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var create = new NpgsqlCommand(_createTemp, connection))
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var valueType = _source.Columns.Select(c => c.Format == CiphertextFormat.Text ? NpgsqlDbType.Text : NpgsqlDbType.Bytea).ToArray();
        await using (var writer = await connection.BeginBinaryImportAsync(_copy, cancellationToken).ConfigureAwait(false))
        {
            foreach (var update in updates)
            {
                await writer.StartRowAsync(cancellationToken).ConfigureAwait(false);
                if (update.Id is long number)
                {
                    await writer.WriteAsync(number, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await writer.WriteAsync((string)update.Id, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                }

                for (var i = 0; i < valueType.Length; i++)
                {
                    await WriteValueAsync(writer, update.Old[i], valueType[i], cancellationToken).ConfigureAwait(false);
                    await WriteValueAsync(writer, update.New[i], valueType[i], cancellationToken).ConfigureAwait(false);
                }
            }

            await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        // RETURNING names the rows written; the others were changed by the application meanwhile.
        var ids = new HashSet<object>();
        await using (var update = new NpgsqlCommand(_update, connection))
        await using (var reader = await update.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                ids.Add(_source.IdKind == IdKind.Integer ? reader.GetInt64(0) : reader.GetString(0));
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        for (var u = 0; u < updates.Count; u++)
        {
            written[u] = ids.Contains(updates[u].Id);
        }

        return written;
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    private static Task WriteValueAsync(NpgsqlBinaryImporter writer, object? value, NpgsqlDbType type, CancellationToken cancellationToken) =>
        value is null ? writer.WriteNullAsync(cancellationToken) : writer.WriteAsync(value, type, cancellationToken);
}
