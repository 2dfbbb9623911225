using System.Globalization;
using System.Text.Json;
using Rekey.Access;
using Rekey.Approvals;
using Rekey.Audit;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Storage;

namespace Rekey.Lifecycle;

/// <summary>
/// Where approvers work: listing approvals, approving and denying them, and carrying out an
/// operation the moment its last approval arrives (exactly once, however many servers race:
/// the change spends the approval in its own transaction). Issuing an admin token and root
/// changes are left approved for their requester to carry out.
/// </summary>
public sealed class ApprovalBoard
{
    private readonly IApprovalStore _store;
    private readonly RekeyService _service;
    private readonly LifecyclePolicies _policies;
    private readonly TimeProvider _time;

    /// <summary>A board over <paramref name="store"/>, carrying out key operations through <paramref name="service"/> and policy changes through <paramref name="policies"/>.</summary>
    public ApprovalBoard(IApprovalStore store, RekeyService service, LifecyclePolicies policies, TimeProvider? time = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _service = service ?? throw new ArgumentNullException(nameof(service));
        _policies = policies ?? throw new ArgumentNullException(nameof(policies));
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Approvals, newest first, in <paramref name="state"/> (any when null); expired ones read as expired even before the sweep records it.</summary>
    public async Task<IReadOnlyList<ApprovalInfo>> ListAsync(ApprovalState? state = null, int limit = 100, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var stored = state is ApprovalState.Expired ? null : state;
        var list = await _store.ListApprovalsAsync(stored, limit, cancellationToken).ConfigureAwait(false);
        return list.Select(a => a with { State = a.StateAt(now) }).Where(a => state is null || a.State == state).ToList();
    }

    /// <summary>One approval; <see cref="RekeyErrorCode.ApprovalNotFound"/> when there is none.</summary>
    public async Task<ApprovalInfo> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        var approval = await _store.FindApprovalAsync(id, cancellationToken).ConfigureAwait(false)
            ?? throw new RekeyException(RekeyErrorCode.ApprovalNotFound, $"No approval has the id '{id}'.");
        return approval with { State = approval.StateAt(_time.GetUtcNow()) };
    }

    /// <summary>
    /// Records <paramref name="change"/>'s actor approving; when that makes enough approvers, carries
    /// the operation out as its requester (unless the requester collects it) and returns the approval
    /// as it then stands (executed, or failed with the refusal).
    /// </summary>
    public Task<ApprovalInfo> ApproveAsync(string id, ChangeContext change, CancellationToken cancellationToken = default) =>
        DecideAsync(id, true, change, cancellationToken);

    /// <summary>Records <paramref name="change"/>'s actor denying: the approval ends, and nothing runs.</summary>
    public Task<ApprovalInfo> DenyAsync(string id, ChangeContext change, CancellationToken cancellationToken = default) =>
        DecideAsync(id, false, change, cancellationToken);

    /// <summary>Records every approval whose time ran out as expired, audited; returns how many.</summary>
    public Task<int> ExpireAsync(CancellationToken cancellationToken = default)
    {
        var now = AuditChain.TruncateToMilliseconds(_time.GetUtcNow());
        return _store.ExpireApprovalsAsync(
            now,
            a => new AuditRecord(now, "approvals", "approval.expire", ApprovalGate.AuditKey(a.Request), a.Request.Version, null, "success",
                string.Create(CultureInfo.InvariantCulture, $"approval {a.Id}: {a.Request}; {ApprovalGate.Name(a.State)} at {a.ExpiresAt:O} with {a.Approvers.Count} of {a.Required} approvals; nothing was carried out")),
            cancellationToken);
    }

    /// <summary>True for operations the board carries out itself; the others wait for their requester.</summary>
    public static bool RunsOnApproval(string operation) => !ApprovalOperations.StoreWide.Contains(operation);

    private async Task<ApprovalInfo> DecideAsync(string id, bool approve, ChangeContext change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(change);
        var now = AuditChain.TruncateToMilliseconds(_time.GetUtcNow());
        var existing = await GetAsync(id, cancellationToken).ConfigureAwait(false);
        var action = approve ? "approval.approve" : "approval.deny";
        var details = string.Create(CultureInfo.InvariantCulture, $"approval {id}: {existing.Request}; request hash {existing.RequestHash}");
        var audit = ChangeContext.Stamp(change, new AuditRecord(now, change.Actor, action, ApprovalGate.AuditKey(existing.Request), existing.Request.Version, null, "success", details));
        var decision = await _store.VoteAsync(id, new ApprovalVote(change.Actor, now, approve, change.Reason), audit, cancellationToken).ConfigureAwait(false);
        var approval = decision.Approval;
        if (!decision.Decided || approval.State != ApprovalState.Approved || !RunsOnApproval(approval.Request.Operation))
        {
            return approval;
        }

        var run = new ChangeContext(approval.Requester, approval.Reason, change.RequestId, change.Client) { Approval = new ApprovalGrant(id, approval.Approvers) };
        try
        {
            await ExecuteAsync(approval.Request, run, cancellationToken).ConfigureAwait(false);
        }
        catch (RekeyException e) when (e.Code is not RekeyErrorCode.ApprovalPending)
        {
            var failed = new AuditRecord(AuditChain.TruncateToMilliseconds(_time.GetUtcNow()), approval.Requester, "approval.fail", ApprovalGate.AuditKey(approval.Request), approval.Request.Version, null, "refused:" + e.Code, $"approval {id}: {approval.Request}; {e.Message}");
            await _store.FailApprovalAsync(id, e.Code + ": " + e.Message, failed, cancellationToken).ConfigureAwait(false);
        }

        return await GetAsync(id, cancellationToken).ConfigureAwait(false);
    }

    private async Task ExecuteAsync(ApprovalRequest request, ChangeContext change, CancellationToken cancellationToken)
    {
        string? Field(string name) => request.Fields.TryGetValue(name, out var value) ? value : null;
        int Version() => request.Version ?? throw new RekeyException(RekeyErrorCode.InvalidRequest, "The approved operation names no version.");
        var key = request.Operation == ApprovalOperations.Policy ? default : KeyName.Parse(request.Key ?? throw new RekeyException(RekeyErrorCode.InvalidRequest, "The approved operation names no key."));
        switch (request.Operation)
        {
            case ApprovalOperations.Destroy:
                await _service.DestroyAsync(key, Version(), new DestroyOptions(Field(ApprovalFields.Force) == "true"), change, cancellationToken).ConfigureAwait(false);
                break;
            case ApprovalOperations.Disable:
                await _service.DisableAsync(key, Version(), change, cancellationToken).ConfigureAwait(false);
                break;
            case ApprovalOperations.ScheduleDestroy:
                await _service.ScheduleDestroyAsync(key, Version(), change, cancellationToken).ConfigureAwait(false);
                break;
            case ApprovalOperations.DeleteKey:
                await _service.DeleteKeyAsync(key, change, cancellationToken).ConfigureAwait(false);
                break;
            case ApprovalOperations.Rotate:
                var expected = Field(ApprovalFields.ExpectedVersion) is { } e ? int.Parse(e, CultureInfo.InvariantCulture) : (int?)null;
                await _service.RotateAsync(key, new RotateOptions(expected, Field(ApprovalFields.Activate) != "false"), change, cancellationToken).ConfigureAwait(false);
                break;
            case ApprovalOperations.KeyConfig when Field(ApprovalFields.MinDecryptionVersion) is { } min:
                await _service.SetMinDecryptionVersionAsync(key, int.Parse(min, CultureInfo.InvariantCulture), change, cancellationToken).ConfigureAwait(false);
                break;
            case ApprovalOperations.KeyConfig:
                var delay = Field(ApprovalFields.DestructionDelayMilliseconds) is { } d ? TimeSpan.FromMilliseconds(long.Parse(d, CultureInfo.InvariantCulture)) : (TimeSpan?)null;
                var allowed = Field(ApprovalFields.DeletionAllowed) is { } a ? a == "true" : (bool?)null;
                await _service.UpdateKeyAsync(key, new KeyConfigUpdate(delay, allowed), change, cancellationToken).ConfigureAwait(false);
                break;
            case ApprovalOperations.Policy when Field(ApprovalFields.Unset) == "true":
                await _policies.UnsetAsync(KeyPattern.Parse(request.Key!), change, cancellationToken).ConfigureAwait(false);
                break;
            case ApprovalOperations.Policy:
                var policy = JsonSerializer.Deserialize(Field(ApprovalFields.Document) ?? "{}", LifecycleJson.Default.LifecyclePolicy) ?? new LifecyclePolicy();
                await _policies.SetAsync(KeyPattern.Parse(request.Key!), policy, change, cancellationToken).ConfigureAwait(false);
                break;
            default:
                throw new RekeyException(RekeyErrorCode.InvalidRequest, $"The operation '{request.Operation}' is carried out by its requester, not on approval.");
        }
    }
}
