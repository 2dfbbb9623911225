using Rekey.Approvals;

namespace Rekey.Storage;

/// <summary>The outcome of recording one approver's decision.</summary>
/// <param name="Approval">The approval after the decision.</param>
/// <param name="Decided">True when this decision moved it out of <see cref="ApprovalState.Pending"/> (the last approval needed, or a denial): exactly one caller sees true, however many race.</param>
public sealed record ApprovalDecision(ApprovalInfo Approval, bool Decided);

/// <summary>
/// Where approvals are kept. An approval is spent (marked executed) by the change that carries it
/// out, in that change's transaction (<see cref="Audit.AuditRecord.SpendsApproval"/>).
/// </summary>
public interface IApprovalStore
{
    /// <summary>Stores a new pending approval with its audit event.</summary>
    Task AddApprovalAsync(ApprovalInfo approval, Audit.AuditRecord audit, CancellationToken cancellationToken = default);

    /// <summary>The approval with this id, with its votes, or null.</summary>
    Task<ApprovalInfo?> FindApprovalAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Approvals, newest first: those in <paramref name="state"/> (any when null), at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<ApprovalInfo>> ListApprovalsAsync(ApprovalState? state, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records <paramref name="vote"/> with its audit event, in one transaction that holds the
    /// approval's row: <see cref="Errors.RekeyErrorCode.ApprovalRefused"/> (writing nothing) unless the
    /// approval is pending and unexpired at the vote's time, and the voter is neither its requester
    /// nor someone who voted on it already. A denial, or the approval that brings the count to
    /// <see cref="ApprovalInfo.Required"/>, decides it (denied, or approved).
    /// </summary>
    Task<ApprovalDecision> VoteAsync(string id, ApprovalVote vote, Audit.AuditRecord audit, CancellationToken cancellationToken = default);

    /// <summary>Marks an approved approval failed with the refusal, and audits it; false when it was no longer approved.</summary>
    Task<bool> FailApprovalAsync(string id, string result, Audit.AuditRecord audit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Marks expired every pending or approved approval whose time passed before <paramref name="now"/>,
    /// each with an audit event <paramref name="audit"/> makes for it; returns how many.
    /// </summary>
    Task<int> ExpireApprovalsAsync(DateTimeOffset now, Func<ApprovalInfo, Audit.AuditRecord> audit, CancellationToken cancellationToken = default);
}
