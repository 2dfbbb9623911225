using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Rekey.Access;
using Rekey.Approvals;
using Rekey.Audit;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Storage;

namespace Rekey.Lifecycle;

/// <summary>
/// Dual control's rules and its gate: which operations on which keys need approval (from the
/// policies, added up, and the server's own rule), and the check every such operation passes.
/// </summary>
public sealed class ApprovalGate : IApprovalGate
{
    private readonly ILifecycleStore _policies;
    private readonly IApprovalStore _approvals;
    private readonly ApprovalRule _floor;
    private readonly TimeProvider _time;

    /// <summary>
    /// A gate reading policies from <paramref name="policies"/> and keeping approvals in
    /// <paramref name="approvals"/> (usually the same store); <paramref name="floor"/> is a rule that
    /// applies whatever the policies say (the server's configuration), which no API call can loosen.
    /// </summary>
    public ApprovalGate(ILifecycleStore policies, IApprovalStore approvals, ApprovalRule? floor = null, TimeProvider? time = null)
    {
        _policies = policies ?? throw new ArgumentNullException(nameof(policies));
        _approvals = approvals ?? throw new ArgumentNullException(nameof(approvals));
        _floor = floor ?? ApprovalRule.None;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The rule for <paramref name="request"/>'s target: store-wide operations follow the policy on <c>*</c>; others every policy whose pattern covers the key (or the policy's pattern).</summary>
    public async Task<ApprovalRule> RuleForAsync(ApprovalRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var rule = _floor;
        var target = ApprovalOperations.StoreWide.Contains(request.Operation) ? "*" : request.Key ?? "*";
        foreach (var stored in await _policies.ListPoliciesAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!Covers(stored.Pattern, target))
            {
                continue;
            }

            var policy = JsonSerializer.Deserialize(stored.Document, LifecycleJson.Default.LifecyclePolicy);
            if (policy?.RequireApproval is { Count: > 0 } operations)
            {
                rule = rule.With(new ApprovalRule(operations.ToHashSet(StringComparer.Ordinal), policy.ApprovalsRequired ?? 1, policy.ApprovalExpiresAfter ?? ApprovalRule.DefaultExpiry));
            }
        }

        return rule;
    }

    /// <inheritdoc />
    public async Task CheckAsync(ApprovalRequest request, ChangeContext? change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var now = AuditChain.TruncateToMilliseconds(_time.GetUtcNow());
        if (change?.Approval is { } grant)
        {
            var approval = await ApprovedAsync(grant.Id, change.Actor, cancellationToken).ConfigureAwait(false);
            var refusal = !string.Equals(approval.RequestHash, request.Hash(), StringComparison.Ordinal) ? $"Approval {approval.Id} approves '{approval.Request}', not '{request}'."
                : !grant.Approvers.SequenceEqual(approval.Approvers, StringComparer.Ordinal) ? $"Approval {approval.Id} names other approvers than the store records."
                : null;
            if (refusal is not null)
            {
                throw new RekeyException(RekeyErrorCode.ApprovalRefused, refusal + " Nothing was changed.");
            }

            return;
        }

        var rule = await RuleForAsync(request, cancellationToken).ConfigureAwait(false);
        if (!rule.Covers(request.Operation))
        {
            return;
        }

        var id = "apr_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        var actor = change?.Actor ?? "local";
        var pending = new ApprovalInfo(id, request, request.Hash(), actor, change?.Reason, rule.Required, ApprovalState.Pending, now, now + rule.ExpiresAfter, null, [], null);
        var details = string.Create(CultureInfo.InvariantCulture, $"approval {id}: {request}; needs {rule.Required} approver(s) by {pending.ExpiresAt:O}; request hash {pending.RequestHash}");
        var audit = ChangeContext.Stamp(change, new AuditRecord(now, actor, "approval.request", AuditKey(request), request.Version, null, "success", details));
        await _approvals.AddApprovalAsync(pending, audit, cancellationToken).ConfigureAwait(false);
        throw new RekeyException(
            RekeyErrorCode.ApprovalPending,
            string.Create(CultureInfo.InvariantCulture, $"'{request}' needs approval by {rule.Required} approver(s) other than {actor}: approval {id} is pending until {pending.ExpiresAt:u} (rekey approval approve {id})."))
        {
            ApprovalId = id,
        };
    }

    /// <summary>
    /// For an operation the requester carries out themselves once approved (issuing an admin
    /// token, the root): the grant to put in the change, after checking the approval is
    /// approved, unexpired and theirs. The operation's own check then matches it to the request.
    /// </summary>
    public async Task<ApprovalGrant> CollectAsync(string id, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        return new ApprovalGrant(id, (await ApprovedAsync(id, actor, cancellationToken).ConfigureAwait(false)).Approvers);
    }

    // The approval, when it is approved, unexpired and was asked for by `actor`; else the refusal.
    private async Task<ApprovalInfo> ApprovedAsync(string id, string actor, CancellationToken cancellationToken)
    {
        var approval = await _approvals.FindApprovalAsync(id, cancellationToken).ConfigureAwait(false)
            ?? throw new RekeyException(RekeyErrorCode.ApprovalNotFound, $"No approval has the id '{id}'.");
        var state = approval.StateAt(_time.GetUtcNow());
        var refusal = state != ApprovalState.Approved ? $"Approval {id} is {Name(state)}, not approved."
            : !string.Equals(approval.Requester, actor, StringComparison.Ordinal) ? $"Approval {id} was requested by {approval.Requester}; only they can carry it out."
            : null;
        return refusal is null ? approval : throw new RekeyException(RekeyErrorCode.ApprovalRefused, refusal + " Nothing was changed.");
    }

    /// <summary>The key an approval's audit events name: the key itself, or none for a pattern or a store-wide operation.</summary>
    internal static string? AuditKey(ApprovalRequest request) =>
        request.Key is { } key && KeyName.TryParse(key, out _) && !ApprovalOperations.StoreWide.Contains(request.Operation) ? key : null;

    internal static string Name(ApprovalState state) => state.ToString().ToLowerInvariant();

    // Whether a policy on `pattern` applies to `target`, a key name or (for a policy change) a pattern.
    private static bool Covers(string pattern, string target)
    {
        if (KeyName.TryParse(target, out var key))
        {
            return KeyPattern.TryParse(pattern, out var parsed) && parsed.Matches(key);
        }

        return pattern == "*"
            || pattern == target
            || (pattern.EndsWith("/*", StringComparison.Ordinal) && target.StartsWith(pattern[..^1], StringComparison.Ordinal));
    }
}
