using Rekey.Audit;
using Rekey.Errors;

namespace Rekey.Storage.Sql;

/// <summary>The registered data sources part of the engine (<see cref="IDataSourceStore"/>): connection strings are stored wrapped by the root key.</summary>
public abstract partial class SqlKeyStore
{
    private const string DataSourceColumns = "name, document, wrapped_connection, root_key_id, created_at";

    /// <inheritdoc />
    public Task AddDataSourceAsync(StoredDataSource source, AuditRecord audit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        return InsertAuditedAsync(
            $"INSERT INTO {T("data_sources")} ({DataSourceColumns}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING;",
            insert =>
            {
                Text(insert, source.Name);
                Text(insert, source.Document);
                Bytes(insert, source.WrappedConnection);
                Text(insert, source.RootKeyId);
                Int64(insert, source.CreatedAt.ToUnixTimeMilliseconds());
            },
            () => new RekeyException(RekeyErrorCode.Conflict, $"A data source named '{source.Name}' exists already."),
            audit,
            cancellationToken);
    }

    /// <inheritdoc />
    public async Task<StoredDataSource?> FindDataSourceAsync(string name, CancellationToken cancellationToken = default) =>
        (await ReadAsync($"SELECT {DataSourceColumns} FROM {T("data_sources")} WHERE name = $1;", c => Text(c, name), ReadDataSource, cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredDataSource>> ListDataSourcesAsync(CancellationToken cancellationToken = default) =>
        ReadAsync($"SELECT {DataSourceColumns} FROM {T("data_sources")} ORDER BY name{Dialect.ByteOrder};", null, ReadDataSource, cancellationToken);

    /// <inheritdoc />
    public Task<bool> RemoveDataSourceAsync(string name, AuditRecord audit, CancellationToken cancellationToken = default) =>
        WriteAsync(
            null,
            async (connection, transaction, ct) =>
            {
                await using (var delete = Command(connection, transaction, $"DELETE FROM {T("data_sources")} WHERE name = $1;"))
                {
                    Text(delete, name);
                    if (await delete.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
                    {
                        return false;
                    }
                }

                await AppendAuditAsync(connection, transaction, audit, ct).ConfigureAwait(false);
                return true;
            },
            cancellationToken);

    private static StoredDataSource ReadDataSource(System.Data.Common.DbDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1), (byte[])reader.GetValue(2), reader.GetString(3), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)));
}
