namespace Rekey.Rewrap;

/// <summary>Where a job stands.</summary>
public enum RewrapJobState
{
    /// <summary>Created or resumed, waiting for a runner.</summary>
    Pending,

    /// <summary>A runner holds its lease and works on it.</summary>
    Running,

    /// <summary>Stopped on request; resume to continue from its checkpoint.</summary>
    Paused,

    /// <summary>Stopped for good on request.</summary>
    Cancelled,

    /// <summary>Every row is under the target version or was recorded as a failure; the inventory is counted.</summary>
    Completed,

    /// <summary>Stopped by an error that is not about one record (the source vanished, say).</summary>
    Failed,
}
