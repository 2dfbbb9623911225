namespace Rekey.Approvals;

/// <summary>One approver's decision.</summary>
/// <param name="Approver">The approver's token id.</param>
/// <param name="At">When.</param>
/// <param name="Approve">True to approve, false to deny.</param>
/// <param name="Comment">What they said, if anything.</param>
public sealed record ApprovalVote(string Approver, DateTimeOffset At, bool Approve, string? Comment);

/// <summary>A request for an operation under dual control, and what became of it.</summary>
/// <param name="Id">The approval's id (<c>apr_</c> and 24 hex digits).</param>
/// <param name="Request">The operation, exactly.</param>
/// <param name="RequestHash">The hash approvers approve (<see cref="ApprovalRequest.Hash"/>).</param>
/// <param name="Requester">Who asked (a token id, or the local actor); never an approver of it.</param>
/// <param name="Reason">Why, as the requester said.</param>
/// <param name="Required">How many distinct approvers must approve.</param>
/// <param name="State">Where it stands.</param>
/// <param name="CreatedAt">When it was asked for.</param>
/// <param name="ExpiresAt">When it lapses if not approved (and, for operations the requester collects, not collected).</param>
/// <param name="DecidedAt">When it left <see cref="ApprovalState.Pending"/> or <see cref="ApprovalState.Approved"/>, if it has.</param>
/// <param name="Votes">The decisions so far, in order.</param>
/// <param name="Result">What the execution said: the new version's state, or the refusal; never key material.</param>
public sealed record ApprovalInfo(
    string Id,
    ApprovalRequest Request,
    string RequestHash,
    string Requester,
    string? Reason,
    int Required,
    ApprovalState State,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? DecidedAt,
    IReadOnlyList<ApprovalVote> Votes,
    string? Result)
{
    /// <summary>The approvers who approved, in order.</summary>
    public IReadOnlyList<string> Approvers => Votes.Where(v => v.Approve).Select(v => v.Approver).ToList();

    /// <summary>The state at <paramref name="now"/>: a pending or uncollected approval past its time reads as <see cref="ApprovalState.Expired"/> before the sweep records it.</summary>
    public ApprovalState StateAt(DateTimeOffset now) =>
        State is ApprovalState.Pending or ApprovalState.Approved && now >= ExpiresAt ? ApprovalState.Expired : State;
}
