using System.Data.Common;
using Rekey.Errors;
using Rekey.Keys;

namespace Rekey.Storage.Sql;

/// <summary>
/// What differs between the SQL engines a <see cref="SqlKeyStore"/> runs on: connections and
/// parameter binding, how a writer takes the store's write lock, how errors are classified, and
/// what is done after key material is erased. Every transaction is written once, in
/// <see cref="SqlKeyStore"/>, in SQL both engines accept; statements use <c>$1</c>, <c>$2</c>, ...
/// for parameters and <see cref="Table"/> for table names.
/// </summary>
public abstract class SqlDialect
{
    /// <summary>The engine's name in messages: <c>SQLite</c>, <c>PostgreSQL</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Appended to <c>ORDER BY</c> on a text column so rows come in byte order on every engine.</summary>
    public virtual string ByteOrder => string.Empty;

    /// <summary>Appended to a <c>SELECT</c> that a write transaction reads and then changes (row locks, where the engine has them).</summary>
    public virtual string ForUpdate => string.Empty;

    /// <summary>The table's name as statements write it (with the schema, where there is one).</summary>
    public abstract string Table(string name);

    /// <summary>An expression true when text <paramref name="column"/> starts with <paramref name="parameter"/>, without LIKE (key names contain <c>_</c>).</summary>
    public abstract string StartsWith(string column, string parameter);

    /// <summary>Opens a connection, ready for statements (session settings applied).</summary>
    public abstract ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Begins a write transaction holding the store's write lock, which serializes audit appends
    /// (sequence numbers and hash links never fork) and changes to one key.
    /// </summary>
    public abstract Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>Begins a transaction for work that needs atomicity but not the write lock (job progress, inventory).</summary>
    public virtual async Task<DbTransaction> BeginAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Names parameter <paramref name="position"/> (from 1) as the engine binds it: by name <c>$n</c>, or by position.</summary>
    public abstract void NameParameter(DbParameter parameter, int position);

    /// <summary>Inside a write transaction: tells other instances that <paramref name="key"/> changed, delivered on commit. Nothing where they poll.</summary>
    public virtual Task AnnounceAsync(DbConnection connection, DbTransaction transaction, KeyName key, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Inside a write transaction that erases key material: what <see cref="ScrubAsync"/> needs to know of it.</summary>
    public virtual Task<long?> MarkErasureAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) => Task.FromResult<long?>(null);

    /// <summary>After erased material was committed: removes old copies the engine keeps (write-ahead log, dead row versions).</summary>
    public abstract Task ScrubAsync(long? mark, CancellationToken cancellationToken);

    /// <summary>Whether <paramref name="error"/> is a unique or primary key violation (a lost race, not a fault). Check failures are not.</summary>
    public abstract bool IsUniqueViolation(DbException error);

    /// <summary>Whether <paramref name="error"/> may pass if the operation is retried (lock timeout, connection lost, serialization failure).</summary>
    public abstract bool IsTransient(DbException error);

    /// <summary>The store error for <paramref name="error"/>, transient or not.</summary>
    public RekeyStoreException Wrap(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var transient = error is DbException db && IsTransient(db);
        return new RekeyStoreException($"The {Name} store failed: {error.Message}", transient, error);
    }
}
