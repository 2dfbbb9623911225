namespace Rekey.Lifecycle;

/// <summary>The phases of a rotation, in order; <see cref="Failed"/> can follow any of the first three.</summary>
public enum RotationPhase
{
    /// <summary>The new version exists (Pending, or Active).</summary>
    Prepare,

    /// <summary>The new version is Active; re-wrap jobs run over the registered sources.</summary>
    Execute,

    /// <summary>Waiting for the inventory to show no value under older versions, and for the jobs' sample decryptions.</summary>
    Verify,

    /// <summary>Done: older versions are left to the retention rules.</summary>
    Complete,

    /// <summary>Stopped with a reason and what an operator should do; can be retried.</summary>
    Failed,
}

/// <summary>One re-wrap job a rotation started, and its latest counts.</summary>
/// <param name="Source">The registered data source.</param>
/// <param name="JobId">The job.</param>
/// <param name="State">The job's state when last looked at.</param>
/// <param name="Rewrapped">Values moved to the new version.</param>
/// <param name="Failed">Values that could not be moved.</param>
public sealed record RotationJob(string Source, string JobId, string State, long Rewrapped, long Failed);

/// <summary>A rotation as shown by <c>rekey rotation show</c> and <c>/v1/rotations/{id}</c>.</summary>
/// <param name="Id">The record's id.</param>
/// <param name="Key">The key.</param>
/// <param name="FromVersion">The Active version before.</param>
/// <param name="ToVersion">The version created.</param>
/// <param name="Cause"><c>manual</c>, or the policy trigger that fired.</param>
/// <param name="Phase">Where it is.</param>
/// <param name="CreatedAt">When the rotation happened.</param>
/// <param name="UpdatedAt">When the record last changed.</param>
/// <param name="PhaseTimes">When each phase was entered.</param>
/// <param name="Jobs">The re-wrap jobs it started.</param>
/// <param name="Remaining">Per registered source, values the latest inventory still counts under versions older than <paramref name="ToVersion"/> (null: not counted since the rotation).</param>
/// <param name="Note">What it is waiting for, or why it failed and what to do.</param>
public sealed record RotationRecord(
    string Id,
    Keys.KeyName Key,
    int FromVersion,
    int ToVersion,
    string Cause,
    RotationPhase Phase,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    IReadOnlyDictionary<string, DateTimeOffset> PhaseTimes,
    IReadOnlyList<RotationJob> Jobs,
    IReadOnlyDictionary<string, long?> Remaining,
    string? Note);
