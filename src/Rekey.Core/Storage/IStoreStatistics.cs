using Rekey.Keys;

namespace Rekey.Storage;

/// <summary>The store's state in aggregate, as monitoring reads it: a few grouped queries, never a row per key.</summary>
/// <param name="VersionsByState">How many versions are in each state.</param>
/// <param name="OldestActiveSince">When the longest-serving Active version became Active; null with no keys.</param>
/// <param name="ValuesByVersionState">Values the latest inventory counted, by the state of the version they are under.</param>
/// <param name="EarliestDue">The earliest time the lifecycle scheduler is due to look at a key; null when none is due.</param>
/// <param name="LastCheckpointAt">When the latest signed audit checkpoint was made; null before the first.</param>
/// <param name="MostActiveEncryptions">The most messages any Active version has encrypted (flushed counts), against the usage limit.</param>
public sealed record StoreStatistics(
    IReadOnlyDictionary<KeyVersionState, long> VersionsByState,
    DateTimeOffset? OldestActiveSince,
    IReadOnlyDictionary<KeyVersionState, long> ValuesByVersionState,
    DateTimeOffset? EarliestDue,
    DateTimeOffset? LastCheckpointAt,
    long MostActiveEncryptions = 0)
{
    /// <summary>Approvals waiting for approvers (pending; the server's sweep records lapsed ones as expired within seconds).</summary>
    public long PendingApprovals { get; init; }

    /// <summary>When the longest-waiting pending approval was asked for; null with none.</summary>
    public DateTimeOffset? OldestPendingApprovalAt { get; init; }

    /// <summary>When the oldest rotation still open (not complete, not failed) happened: its re-wrap and verification are not done; null with none.</summary>
    public DateTimeOffset? OldestOpenRotationAt { get; init; }
}

/// <summary>A store that can report <see cref="StoreStatistics"/>.</summary>
public interface IStoreStatistics
{
    /// <summary>The store's state in aggregate.</summary>
    Task<StoreStatistics> GetStatisticsAsync(CancellationToken cancellationToken = default);

    /// <summary>When each Active version became Active, for the keys <paramref name="keys"/> selects (monitoring's per-key series).</summary>
    Task<IReadOnlyList<(KeyName Key, DateTimeOffset ActiveSince)>> GetActiveSinceAsync(Func<KeyName, bool> keys, CancellationToken cancellationToken = default);
}
