using Rekey.Audit;
using Rekey.Keys;

namespace Rekey.Storage;

/// <summary>A lifecycle policy as stored: its key-name pattern and its fields as a JSON document owned by the lifecycle library.</summary>
/// <param name="Pattern">The key-name pattern it applies to (<c>tenants/*</c>, an exact name, or <c>*</c>).</param>
/// <param name="Document">The policy's fields, as JSON.</param>
/// <param name="UpdatedAt">When it was last set.</param>
public sealed record StoredPolicy(string Pattern, string Document, DateTimeOffset UpdatedAt);

/// <summary>
/// A key's place in the lifecycle scheduler: when it next needs looking at, which instance is
/// looking at it now, and the scheduler's notes about it.
/// </summary>
/// <param name="Key">The key.</param>
/// <param name="NextDue">When the scheduler should next look at the key; null for never (no policy applies).</param>
/// <param name="LeaseOwner">The instance acting on the key, while it holds the lease.</param>
/// <param name="LeaseUntil">When that lease lapses.</param>
/// <param name="Generation">Counts the key's changes; a scheduler's computed due time is kept only if no change came in meanwhile.</param>
/// <param name="Document">The scheduler's notes (JSON), for example when it first saw a version Disabled.</param>
public sealed record StoredSchedule(KeyName Key, DateTimeOffset? NextDue, string? LeaseOwner, DateTimeOffset? LeaseUntil, long Generation, string Document);

/// <summary>A rotation's record: which versions, why, and how far it has come.</summary>
/// <param name="Id">The record's id.</param>
/// <param name="Key">The key rotated.</param>
/// <param name="FromVersion">The Active version before the rotation.</param>
/// <param name="ToVersion">The version the rotation created.</param>
/// <param name="Cause">What started it: <c>manual</c>, or the policy trigger (<c>periodic</c>, <c>expiry</c>, <c>cron</c>, <c>usage</c>).</param>
/// <param name="Phase"><c>prepare</c>, <c>execute</c>, <c>verify</c>, <c>complete</c> or <c>failed</c>.</param>
/// <param name="Document">Progress (jobs, per-source counts, timings, the failure and what to do), as JSON.</param>
/// <param name="CreatedAt">When the rotation happened.</param>
/// <param name="UpdatedAt">When the record last changed.</param>
public sealed record StoredRotation(string Id, KeyName Key, int FromVersion, int ToVersion, string Cause, string Phase, string Document, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>Where lifecycle policies, the scheduler's per-key due times and leases, and rotation records are kept.</summary>
/// <remarks>
/// Every key change the store applies (creation, rotation, a state change) also marks the key due
/// now, in the same transaction, so the scheduler looks at it again without scanning all keys.
/// </remarks>
public interface ILifecycleStore
{
    /// <summary>Creates or replaces the policy for a pattern, with its audit event, and marks every key it matches due now.</summary>
    Task PutPolicyAsync(StoredPolicy policy, AuditRecord audit, CancellationToken cancellationToken = default);

    /// <summary>Removes the policy for a pattern, with its audit event, and marks every key it matched due now; false when there was none.</summary>
    Task<bool> DeletePolicyAsync(string pattern, AuditRecord audit, CancellationToken cancellationToken = default);

    /// <summary>How many keys a pattern (<c>*</c>, <c>prefix/*</c> or an exact name) matches.</summary>
    Task<long> CountMatchingKeysAsync(string pattern, CancellationToken cancellationToken = default);

    /// <summary>Every policy, by pattern.</summary>
    Task<IReadOnlyList<StoredPolicy>> ListPoliciesAsync(CancellationToken cancellationToken = default);

    /// <summary>Up to <paramref name="limit"/> keys due at <paramref name="now"/> whose lease is free or lapsed, earliest first (an indexed query).</summary>
    Task<IReadOnlyList<KeyName>> GetDueKeysAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default);

    /// <summary>Takes a key's lease for <paramref name="owner"/> when it is free, lapsed or already theirs; the schedule when taken, null when another instance holds it.</summary>
    Task<StoredSchedule?> TryLeaseKeyAsync(KeyName key, string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken = default);

    /// <summary>
    /// Releases a key's lease with its next due time and notes. The due time is kept only if the
    /// key's generation is still <paramref name="generation"/>; if the key changed meanwhile it
    /// stays due now. False when <paramref name="owner"/> no longer held the lease.
    /// </summary>
    Task<bool> ReleaseKeyAsync(KeyName key, string owner, long generation, DateTimeOffset? nextDue, string document, CancellationToken cancellationToken = default);

    /// <summary>Reads a key's schedule, or null when it has none.</summary>
    Task<StoredSchedule?> GetScheduleAsync(KeyName key, CancellationToken cancellationToken = default);

    /// <summary>Saves a rotation record if its stored phase is still <paramref name="expectedPhase"/>, with an optional audit event; false otherwise.</summary>
    Task<bool> UpdateRotationAsync(StoredRotation rotation, string expectedPhase, AuditRecord? audit, CancellationToken cancellationToken = default);

    /// <summary>Finds a rotation record, or null.</summary>
    Task<StoredRotation?> FindRotationAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Rotation records, newest first: of one key or of all, and optionally only those not yet complete or failed.</summary>
    Task<IReadOnlyList<StoredRotation>> ListRotationsAsync(KeyName? key, bool openOnly, int limit, CancellationToken cancellationToken = default);
}
