using Rekey.Audit;
using Rekey.Keys;

namespace Rekey.Storage;

/// <summary>
/// Where keys, versions and the audit log live. Every change is one transaction that includes
/// its audit event: if the event cannot be written, the change does not happen. Implementations
/// enforce "at most one Active version per key" in the database itself.
/// </summary>
/// <remarks>
/// Refusals use <see cref="Errors.RekeyException"/>: <c>KeyExists</c> for a duplicate key,
/// <c>Conflict</c> when a conditional update finds another state or a version number is taken.
/// Backend faults use <see cref="Errors.RekeyStoreException"/>.
/// </remarks>
public interface IKeyStore : IAsyncDisposable
{
    /// <summary>Creates a key with its first version.</summary>
    Task CreateKeyAsync(StoredKey key, StoredKeyVersion firstVersion, AuditRecord audit, CancellationToken cancellationToken = default);

    /// <summary>Finds a key, or null.</summary>
    Task<StoredKey?> FindKeyAsync(KeyName name, CancellationToken cancellationToken = default);

    /// <summary>Lists keys whose names start with <paramref name="prefix"/> (all when null), in name order.</summary>
    Task<IReadOnlyList<StoredKey>> ListKeysAsync(string? prefix, CancellationToken cancellationToken = default);

    /// <summary>How many keys the store holds.</summary>
    Task<long> CountKeysAsync(CancellationToken cancellationToken = default);

    /// <summary>Every Retiring version, of any key, whose retire deadline is at or before <paramref name="now"/>.</summary>
    Task<IReadOnlyList<StoredKeyVersion>> GetRetiringDueAsync(DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>All versions of a key, in version order (empty when the key does not exist).</summary>
    Task<IReadOnlyList<StoredKeyVersion>> GetVersionsAsync(KeyName name, CancellationToken cancellationToken = default);

    /// <summary>Applies one atomic change (see <see cref="KeyChange"/>).</summary>
    Task ApplyAsync(KeyChange change, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes a key and all its versions, material included, with its audit event; the store
    /// then scrubs old copies as after a destruction. <c>KeyNotFound</c> when there is no such
    /// key, <c>PolicyViolation</c> when the key does not allow deletion.
    /// </summary>
    Task DeleteKeyAsync(KeyName name, AuditRecord audit, CancellationToken cancellationToken = default);

    /// <summary>Adds usage to version counters. Counts are advisory; this is not audited.</summary>
    Task AddUsageAsync(IReadOnlyCollection<UsageDelta> deltas, CancellationToken cancellationToken = default);

    /// <summary>Appends an audit event that goes with no change (a refused request).</summary>
    Task AppendAuditAsync(AuditRecord audit, CancellationToken cancellationToken = default);

    /// <summary>Reads audit events with sequence numbers above <paramref name="afterSequence"/>, oldest first.</summary>
    Task<IReadOnlyList<AuditEvent>> ReadAuditAsync(long afterSequence, int limit, CancellationToken cancellationToken = default);
}
