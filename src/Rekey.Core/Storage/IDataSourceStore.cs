namespace Rekey.Storage;

/// <summary>A registered data source as stored: its description, and its connection string wrapped by the root key.</summary>
/// <param name="Name">The source's unique name, which jobs refer to.</param>
/// <param name="Document">Its non-secret description (kind, table, columns, filter, allowed keys), as JSON.</param>
/// <param name="WrappedConnection">The connection string (UTF-8), wrapped by the root key and bound to the name.</param>
/// <param name="RootKeyId">Which root key wrapped it.</param>
/// <param name="CreatedAt">When it was registered.</param>
public sealed record StoredDataSource(string Name, string Document, byte[] WrappedConnection, string RootKeyId, DateTimeOffset CreatedAt);

/// <summary>Where registered data sources (the tables re-wrap jobs may touch) are kept.</summary>
public interface IDataSourceStore
{
    /// <summary>Registers a source with its audit event; <c>Conflict</c> when the name is taken.</summary>
    Task AddDataSourceAsync(StoredDataSource source, Audit.AuditRecord audit, CancellationToken cancellationToken = default);

    /// <summary>The source with this name, or null.</summary>
    Task<StoredDataSource?> FindDataSourceAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Every source, by name.</summary>
    Task<IReadOnlyList<StoredDataSource>> ListDataSourcesAsync(CancellationToken cancellationToken = default);

    /// <summary>Removes a source with its audit event; false (and no event) when there was none.</summary>
    Task<bool> RemoveDataSourceAsync(string name, Audit.AuditRecord audit, CancellationToken cancellationToken = default);
}
