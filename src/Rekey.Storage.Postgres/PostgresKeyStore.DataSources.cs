using Npgsql;
using Rekey.Audit;
using Rekey.Errors;

namespace Rekey.Storage.Postgres;

/// <summary>The registered data sources part of the PostgreSQL store (<see cref="IDataSourceStore"/>).</summary>
public sealed partial class PostgresKeyStore
{
    private const string DataSourceColumns = "name, document, wrapped_connection, root_key_id, created_at";

    /// <inheritdoc />
    public Task AddDataSourceAsync(StoredDataSource source, AuditRecord audit, CancellationToken cancellationToken = default) =>
        WriteAsync(
            null,
            async (connection, ct) =>
            {
                ArgumentNullException.ThrowIfNull(source);
                await using var insert = new NpgsqlCommand($"INSERT INTO rekey.data_sources ({DataSourceColumns}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING;", connection);
                insert.Parameters.AddWithValue(source.Name);
                insert.Parameters.AddWithValue(source.Document);
                insert.Parameters.AddWithValue(source.WrappedConnection);
                insert.Parameters.AddWithValue(source.RootKeyId);
                insert.Parameters.AddWithValue(source.CreatedAt.ToUnixTimeMilliseconds());
                if (await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
                {
                    throw new RekeyException(RekeyErrorCode.Conflict, $"A data source named '{source.Name}' exists already.");
                }

                await AppendAuditAsync(connection, audit, ct).ConfigureAwait(false);
                return 0;
            },
            cancellationToken);

    /// <inheritdoc />
    public async Task<StoredDataSource?> FindDataSourceAsync(string name, CancellationToken cancellationToken = default) =>
        (await ReadDataSourcesAsync("WHERE name = $1", name, cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredDataSource>> ListDataSourcesAsync(CancellationToken cancellationToken = default) =>
        ReadDataSourcesAsync(string.Empty, null, cancellationToken);

    /// <inheritdoc />
    public Task<bool> RemoveDataSourceAsync(string name, AuditRecord audit, CancellationToken cancellationToken = default) =>
        WriteAsync(
            null,
            async (connection, ct) =>
            {
                await using var delete = new NpgsqlCommand("DELETE FROM rekey.data_sources WHERE name = $1;", connection);
                delete.Parameters.AddWithValue(name);
                if (await delete.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
                {
                    return false;
                }

                await AppendAuditAsync(connection, audit, ct).ConfigureAwait(false);
                return true;
            },
            cancellationToken);

    private Task<IReadOnlyList<StoredDataSource>> ReadDataSourcesAsync(string where, string? name, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<StoredDataSource>>(
            async ct =>
            {
                await using var command = _dataSource.CreateCommand($"SELECT {DataSourceColumns} FROM rekey.data_sources {where} ORDER BY name COLLATE \"C\";");
                if (name is not null)
                {
                    command.Parameters.AddWithValue(name);
                }

                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                var result = new List<StoredDataSource>();
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    result.Add(new StoredDataSource(reader.GetString(0), reader.GetString(1), (byte[])reader.GetValue(2), reader.GetString(3), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4))));
                }

                return result;
            },
            cancellationToken);
}
