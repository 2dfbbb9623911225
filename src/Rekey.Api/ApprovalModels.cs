namespace Rekey.Api;

/// <summary>One approver's decision, as shown.</summary>
/// <param name="Approver">The approver's token id.</param>
/// <param name="At">When.</param>
/// <param name="Decision"><c>approve</c> or <c>deny</c>.</param>
/// <param name="Comment">What they said.</param>
public sealed record ApprovalVoteResource(string Approver, DateTimeOffset At, string Decision, string? Comment);

/// <summary>An operation held for approval (<c>/v1/approvals</c>); also the body of a 202 answer to a request that was held.</summary>
/// <param name="Id">The approval's id.</param>
/// <param name="Operation">What is asked: destroy, disable, schedule-destroy, delete-key, key-config, policy, admin-token, root or rotate.</param>
/// <param name="Key">The key (or a policy's pattern); absent for store-wide operations.</param>
/// <param name="Version">The version, for operations on one.</param>
/// <param name="Fields">The operation's other fields, exactly as approved.</param>
/// <param name="Summary">The operation in one line.</param>
/// <param name="RequestHash">SHA-256 of the operation's canonical form: what approvers approve.</param>
/// <param name="Requester">Who asked.</param>
/// <param name="Reason">Why, as they said.</param>
/// <param name="Required">Approvers needed besides the requester.</param>
/// <param name="State"><c>pending</c>, <c>approved</c>, <c>executed</c>, <c>failed</c>, <c>denied</c> or <c>expired</c>.</param>
/// <param name="CreatedAt">When asked.</param>
/// <param name="ExpiresAt">When it lapses unless approved (and, for operations the requester carries out, carried out).</param>
/// <param name="DecidedAt">When it was decided, executed, failed or expired.</param>
/// <param name="Votes">The decisions so far.</param>
/// <param name="Result">What the execution did, or why it was refused.</param>
public sealed record ApprovalResource(
    string Id,
    string Operation,
    string? Key,
    int? Version,
    IReadOnlyDictionary<string, string> Fields,
    string Summary,
    string RequestHash,
    string Requester,
    string? Reason,
    int Required,
    string State,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? DecidedAt,
    IReadOnlyList<ApprovalVoteResource> Votes,
    string? Result);

/// <summary>Approvals the caller's token covers, newest first.</summary>
/// <param name="Approvals">The approvals.</param>
public sealed record ApprovalsResponse(IReadOnlyList<ApprovalResource> Approvals);

/// <summary>Body of <c>POST /v1/approvals/{id}/approve</c> and <c>/deny</c> (optional).</summary>
/// <param name="Comment">Recorded with the decision and in the audit event.</param>
public sealed record ApprovalDecisionRequest(string? Comment = null);
