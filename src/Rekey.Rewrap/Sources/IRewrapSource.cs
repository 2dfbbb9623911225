namespace Rekey.Rewrap.Sources;

/// <summary>
/// A row as read: its id (long or string) and its ciphertext values in column order, each as
/// stored: a text column's UTF-8 bytes, a binary column's bytes, or null. The bytes live in the
/// <see cref="ByteArena"/> the read was given.
/// </summary>
/// <param name="Id">The id.</param>
/// <param name="Values">The values.</param>
/// <param name="RowVersion">PostgreSQL's <c>xmin</c>: which transaction last wrote the row, so the write can check it instead of every value.</param>
internal sealed record SourceRow(object Id, ReadOnlyMemory<byte>?[] Values, uint? RowVersion = null);

/// <summary>A conditional write: set the new values (null: leave the column) only where the row is still as read.</summary>
/// <param name="Id">The row's id.</param>
/// <param name="Old">The values read (compared where the database has no row version).</param>
/// <param name="New">The values to write (as stored, like <see cref="SourceRow.Values"/>), null where unchanged.</param>
/// <param name="RowVersion">The row version read, where the database has one.</param>
internal sealed record RowUpdate(object Id, ReadOnlyMemory<byte>?[] Old, ReadOnlyMemory<byte>?[] New, uint? RowVersion = null);

/// <summary>A table the job reads in id order and writes back conditionally, one transaction per batch.</summary>
internal interface IRewrapSource : IAsyncDisposable
{
    /// <summary>The source's name in the inventory: database and table, never credentials.</summary>
    string Name { get; }

    /// <summary>Up to <paramref name="limit"/> rows after <paramref name="after"/> (null: from the start), in id order, their values copied into <paramref name="arena"/>.</summary>
    Task<IReadOnlyList<SourceRow>> ReadAsync(object? after, int limit, ByteArena arena, CancellationToken cancellationToken);

    /// <summary>How many rows the job will look at (for progress and ETA).</summary>
    Task<long> CountAsync(CancellationToken cancellationToken);

    /// <summary>Applies the updates in one transaction; returns, per update, whether the row was still unchanged and so written.</summary>
    Task<bool[]> WriteAsync(IReadOnlyList<RowUpdate> updates, CancellationToken cancellationToken);
}
