using Rekey.Audit;
using Rekey.Keys;

namespace Rekey.Storage;

/// <summary>
/// A re-wrap job as stored: the indexed fields a scheduler needs, and the job's definition and
/// progress as one JSON document owned by the re-wrap library.
/// </summary>
/// <param name="Id">The job's id.</param>
/// <param name="Key">The key whose ciphertexts it moves.</param>
/// <param name="State">Pending, Running, Paused, Cancelled, Completed or Failed.</param>
/// <param name="Document">Definition and progress (position, counts), as JSON; never key material.</param>
/// <param name="LeaseOwner">The instance running it, while it holds the lease.</param>
/// <param name="LeaseUntil">When the lease lapses unless renewed.</param>
/// <param name="UpdatedAt">When it was last saved.</param>
public sealed record StoredRewrapJob(string Id, KeyName Key, string State, string Document, string? LeaseOwner, DateTimeOffset? LeaseUntil, DateTimeOffset UpdatedAt);

/// <summary>A record a job could not move, and why.</summary>
/// <param name="JobId">The job.</param>
/// <param name="RecordId">The record's id in the source table.</param>
/// <param name="Column">The ciphertext column.</param>
/// <param name="Version">The key version the value is under, when it could be read.</param>
/// <param name="Reason">Why, for example <c>KeyDestroyed</c> or <c>malformed</c>.</param>
/// <param name="At">When it was found.</param>
public sealed record RewrapFailureRecord(string JobId, string RecordId, string Column, int? Version, string Reason, DateTimeOffset At);

/// <summary>How many values one key version still protects in one source, and when that was counted.</summary>
/// <param name="Source">The source (database and table, without credentials).</param>
/// <param name="Key">The key.</param>
/// <param name="Version">The version.</param>
/// <param name="Count">Values under it.</param>
/// <param name="CountedAt">When the pass that counted them finished.</param>
public sealed record InventoryCount(string Source, KeyName Key, int Version, long Count, DateTimeOffset CountedAt);

/// <summary>Where re-wrap jobs, their per-record failures and the per-version inventory are kept.</summary>
public interface IRewrapJobStore
{
    /// <summary>Stores a new job with its audit event; <c>Conflict</c> when the id is taken.</summary>
    Task CreateJobAsync(StoredRewrapJob job, AuditRecord audit, CancellationToken cancellationToken = default);

    /// <summary>Finds a job, or null.</summary>
    Task<StoredRewrapJob?> FindJobAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Every job, newest first.</summary>
    Task<IReadOnlyList<StoredRewrapJob>> ListJobsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Saves a job (state, document, lease) and adds failures, with an optional audit event, in one
    /// transaction, but only while its stored state is one of <paramref name="expectedStates"/> and,
    /// when <paramref name="leaseOwner"/> is given, that instance still holds the lease. False when
    /// either condition fails (paused or cancelled meanwhile, or the lease was taken over).
    /// </summary>
    Task<bool> UpdateJobAsync(StoredRewrapJob job, IReadOnlyCollection<string> expectedStates, string? leaseOwner, IReadOnlyList<RewrapFailureRecord> failures, AuditRecord? audit, CancellationToken cancellationToken = default);

    /// <summary>Takes or renews a job's lease for <paramref name="owner"/> when it is free, lapsed, or already theirs.</summary>
    Task<bool> TryLeaseJobAsync(string id, string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken = default);

    /// <summary>A job's failures, by record id.</summary>
    Task<IReadOnlyList<RewrapFailureRecord>> GetFailuresAsync(string jobId, int limit, CancellationToken cancellationToken = default);

    /// <summary>Replaces the inventory of one key in one source with a new count.</summary>
    Task ReplaceInventoryAsync(string source, KeyName key, IReadOnlyList<InventoryCount> counts, CancellationToken cancellationToken = default);

    /// <summary>The inventory of a key, across sources.</summary>
    Task<IReadOnlyList<InventoryCount>> GetInventoryAsync(KeyName key, CancellationToken cancellationToken = default);
}
