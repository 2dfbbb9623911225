namespace Rekey.Approvals;

/// <summary>Where an approval stands. Only <see cref="Pending"/> and <see cref="Approved"/> can still change.</summary>
public enum ApprovalState
{
    /// <summary>Waiting for approvers.</summary>
    Pending = 1,

    /// <summary>Enough approvers agreed; the operation runs (at once, or when the requester collects it).</summary>
    Approved = 2,

    /// <summary>The operation ran, once.</summary>
    Executed = 3,

    /// <summary>The operation was tried after approval and refused (for example, the version had changed state); nothing changed.</summary>
    Failed = 4,

    /// <summary>An approver said no.</summary>
    Denied = 5,

    /// <summary>Not approved (or not collected) in time; nothing ran.</summary>
    Expired = 6,
}
