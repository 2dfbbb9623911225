using System.Globalization;
using Npgsql;
using NpgsqlTypes;

namespace Rekey.Rewrap.Sources;

/// <summary>
/// A PostgreSQL table. Reads by keyset (<c>id &gt; $after ORDER BY id LIMIT n</c>). Writes a batch
/// as one <c>UPDATE ... FROM unnest(arrays)</c> that only touches rows whose <c>xmin</c> (the
/// transaction that last wrote them) is still the one read, so an application's write is never
/// overwritten.
/// </summary>
internal sealed class PostgresTableSource : IRewrapSource
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly SourceDefinition _source;
    private readonly string _select;
    private readonly string _selectFirst;
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
        _select = $"SELECT xmin, {sql.Id}, {columns} FROM {sql.Table} WHERE {sql.Id}{collate} {compare} $1{filter} ORDER BY {sql.Id}{collate} {order} LIMIT $2;";
        _selectFirst = $"SELECT xmin, {sql.Id}, {columns} FROM {sql.Table} WHERE true{filter} ORDER BY {sql.Id}{collate} {order} LIMIT $2;";

        _count = $"SELECT count(*) FROM {sql.Table}" + (sql.Filter is null ? ";" : $" WHERE {sql.Filter}::text = $1;");

        // One UPDATE joins the batch passed as arrays: unnest keeps the planner on the id index (it
        // expects few rows). A row changes only if its xmin is still the one read: any write by the
        // application since then gave it a new xmin, so that write is never overwritten.
        var idType = source.IdKind == IdKind.Integer ? "bigint" : "text";
        var valueTypes = source.Columns.Select(c => c.Format == CiphertextFormat.Text ? "text" : "bytea").ToArray();
        var arrays = string.Join(", ", new[] { $"$1::{idType}[]", "$2::xid[]" }.Concat(valueTypes.Select((t, i) => $"${i + 3}::{t}[]")));
        var names = string.Join(", ", new[] { "id", "x" }.Concat(valueTypes.Select((_, i) => $"n{i}")).Append("ord"));
        // An empty new value means "leave this column": no envelope is empty.
        var set = string.Join(", ", sql.Columns.Select((c, i) => $"{c} = COALESCE(NULLIF(b.n{i}, ''::{valueTypes[i]}), t.{c})"));

        // RETURNING the update's position in the batch (WITH ORDINALITY, from 1) names the rows
        // written without hashing their ids.
        _update = $"UPDATE {sql.Table} AS t SET {set} FROM unnest({arrays}) WITH ORDINALITY AS b ({names}) WHERE t.{sql.Id} = b.id AND t.xmin = b.x RETURNING b.ord;";
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

    public async Task<IReadOnlyList<SourceRow>> ReadAsync(object? after, int limit, ByteArena arena, CancellationToken cancellationToken)
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
            var xmin = reader.GetFieldValue<uint>(0);
            object id = _source.IdKind == IdKind.Integer ? Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture) : reader.GetString(1);
            var values = new ReadOnlyMemory<byte>?[width];
            for (var i = 0; i < width; i++)
            {
                if (reader.IsDBNull(i + 2))
                {
                    continue;
                }

                // A text column read as bytes is its UTF-8 (Npgsql always talks UTF-8), copied
                // straight into the arena: no string or array per value.
                var value = arena.Allocate((int)reader.GetBytes(i + 2, 0, null, 0, 0));
                reader.GetBytes(i + 2, 0, value.Array, value.Offset, value.Count);
                values[i] = value;
            }

            rows.Add(new SourceRow(id, values, xmin));
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

        await using var command = _dataSource.CreateCommand(_update);
        command.Parameters.Add(_source.IdKind == IdKind.Integer
            ? new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, Value = updates.Select(u => (long)u.Id).ToArray() }
            : new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = updates.Select(u => (string)u.Id).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Xid, Value = updates.Select(u => u.RowVersion!.Value).ToArray() });
        for (var i = 0; i < _source.Columns.Count; i++)
        {
            var column = i;
            var type = NpgsqlDbType.Array | (_source.Columns[i].Format == CiphertextFormat.Text ? NpgsqlDbType.Text : NpgsqlDbType.Bytea);
            // The bytes go out as they are: UTF-8 for a text array, the bytes for bytea. An array
            // element cannot be a null memory, so "unchanged" travels as empty (see the UPDATE).
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = type, Value = updates.Select(u => u.New[column] ?? ReadOnlyMemory<byte>.Empty).ToArray() });
        }

        // A single statement is its own transaction. RETURNING names the rows written; the others
        // were changed by the application meanwhile.
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                written[reader.GetInt64(0) - 1] = true;
            }
        }

        return written;
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
