using Microsoft.Data.Sqlite;
using Rekey.Audit;
using Rekey.Errors;

namespace Rekey.Storage.Sqlite;

/// <summary>The registered data sources part of the SQLite store (<see cref="IDataSourceStore"/>).</summary>
public sealed partial class SqliteKeyStore
{
    private const string DataSourceColumns = "name, document, wrapped_connection, root_key_id, created_at";

    /// <inheritdoc />
    public Task AddDataSourceAsync(StoredDataSource source, AuditRecord audit, CancellationToken cancellationToken = default) =>
        RunAsync(
            connection =>
            {
                ArgumentNullException.ThrowIfNull(source);
                using var transaction = connection.BeginTransaction();
                using (var insert = Command(connection, transaction, $"INSERT INTO data_sources ({DataSourceColumns}) VALUES ($n, $d, $w, $r, $c) ON CONFLICT DO NOTHING;"))
                {
                    insert.Parameters.AddWithValue("$n", source.Name);
                    insert.Parameters.AddWithValue("$d", source.Document);
                    insert.Parameters.AddWithValue("$w", source.WrappedConnection);
                    insert.Parameters.AddWithValue("$r", source.RootKeyId);
                    insert.Parameters.AddWithValue("$c", source.CreatedAt.ToUnixTimeMilliseconds());
                    if (insert.ExecuteNonQuery() == 0)
                    {
                        throw new RekeyException(RekeyErrorCode.Conflict, $"A data source named '{source.Name}' exists already.");
                    }
                }

                AppendAudit(connection, transaction, audit);
                transaction.Commit();
                return 0;
            },
            cancellationToken);

    /// <inheritdoc />
    public async Task<StoredDataSource?> FindDataSourceAsync(string name, CancellationToken cancellationToken = default) =>
        (await ReadDataSourcesAsync("WHERE name = $n", name, cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredDataSource>> ListDataSourcesAsync(CancellationToken cancellationToken = default) =>
        ReadDataSourcesAsync(string.Empty, null, cancellationToken);

    /// <inheritdoc />
    public Task<bool> RemoveDataSourceAsync(string name, AuditRecord audit, CancellationToken cancellationToken = default) =>
        RunAsync(
            connection =>
            {
                using var transaction = connection.BeginTransaction();
                using var delete = Command(connection, transaction, "DELETE FROM data_sources WHERE name = $n;");
                delete.Parameters.AddWithValue("$n", name);
                if (delete.ExecuteNonQuery() == 0)
                {
                    return false;
                }

                AppendAudit(connection, transaction, audit);
                transaction.Commit();
                return true;
            },
            cancellationToken);

    private Task<IReadOnlyList<StoredDataSource>> ReadDataSourcesAsync(string where, string? name, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<StoredDataSource>>(
            connection =>
            {
                using var command = Command(connection, null, $"SELECT {DataSourceColumns} FROM data_sources {where} ORDER BY name;");
                if (name is not null)
                {
                    command.Parameters.AddWithValue("$n", name);
                }

                using var reader = command.ExecuteReader();
                var result = new List<StoredDataSource>();
                while (reader.Read())
                {
                    result.Add(new StoredDataSource(reader.GetString(0), reader.GetString(1), (byte[])reader.GetValue(2), reader.GetString(3), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4))));
                }

                return result;
            },
            cancellationToken);
}
