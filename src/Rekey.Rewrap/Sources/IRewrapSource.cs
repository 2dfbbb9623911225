namespace Rekey.Rewrap.Sources;

/// <summary>A row as read: its id (long or string) and its ciphertext values (string, byte[] or null), in column order.</summary>
/// <param name="Id">The id.</param>
/// <param name="Values">The values.</param>
internal sealed record SourceRow(object Id, object?[] Values);

/// <summary>A conditional write: set the new values (null: leave the column) only where every column still holds the old ones.</summary>
/// <param name="Id">The row's id.</param>
/// <param name="Old">The values read.</param>
/// <param name="New">The values to write, null where unchanged.</param>
internal sealed record RowUpdate(object Id, object?[] Old, object?[] New);

/// <summary>A table the job reads in id order and writes back conditionally, one transaction per batch.</summary>
internal interface IRewrapSource : IAsyncDisposable
{
    /// <summary>The source's name in the inventory: database and table, never credentials.</summary>
    string Name { get; }

    /// <summary>Up to <paramref name="limit"/> rows after <paramref name="after"/> (null: from the start), in id order.</summary>
    Task<IReadOnlyList<SourceRow>> ReadAsync(object? after, int limit, CancellationToken cancellationToken);

    /// <summary>How many rows the job will look at (for progress and ETA).</summary>
    Task<long> CountAsync(CancellationToken cancellationToken);

    /// <summary>Applies the updates in one transaction; returns, per update, whether the row was still unchanged and so written.</summary>
    Task<bool[]> WriteAsync(IReadOnlyList<RowUpdate> updates, CancellationToken cancellationToken);
}
