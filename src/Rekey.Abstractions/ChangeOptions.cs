namespace Rekey;

/// <summary>Who asks for a change, and why; recorded in the audit event.</summary>
/// <param name="Actor">The principal (never a secret).</param>
/// <param name="Reason">Free text, for example an incident number.</param>
/// <param name="RequestId">The request that asked for it, when it came over the network.</param>
/// <param name="Client">The client's address, when it came over the network.</param>
public sealed record ChangeContext(string Actor, string? Reason = null, string? RequestId = null, string? Client = null)
{
    /// <summary>
    /// The approval this change carries out, when the operation is under dual control. The change
    /// spends it in its own transaction, so it runs at most once, and its audit event names it.
    /// </summary>
    public ApprovalGrant? Approval { get; init; }

    /// <summary>
    /// True for a change a lifecycle policy makes (the scheduler's rotations and retention steps):
    /// not held for approval, since the policy itself was set under the approval rules.
    /// </summary>
    public bool ByPolicy { get; init; }

    /// <summary>The record with this context's reason, request id and client in their own fields, and the approval it spends.</summary>
    public static Audit.AuditRecord Stamp(ChangeContext? change, Audit.AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (change is null)
        {
            return record;
        }

        var stamped = record with { Reason = change.Reason, RequestId = change.RequestId, Client = change.Client };
        return change.Approval is not { } approval ? stamped : stamped with
        {
            SpendsApproval = approval.Id,
            Details = (record.Details is null ? string.Empty : record.Details + "; ") + approval.Describe(),
        };
    }
}

/// <summary>An approval a change carries out.</summary>
/// <param name="Id">The approval.</param>
/// <param name="Approvers">Who approved it (token ids), as the audit event records them.</param>
public sealed record ApprovalGrant(string Id, IReadOnlyList<string> Approvers)
{
    private const string Marker = "approval ";
    private const string By = " approved by ";

    /// <summary>How the executed change's audit event names it: <c>approval apr_... approved by tok_a,tok_b</c>.</summary>
    public string Describe() => Marker + Id + By + string.Join(",", Approvers);

    /// <summary>The grant an audit event's details name (the last, as <see cref="Describe"/> writes it), or null.</summary>
    public static ApprovalGrant? FromDetails(string? details)
    {
        var at = details?.LastIndexOf(Marker, StringComparison.Ordinal) ?? -1;
        var by = at < 0 ? -1 : details!.IndexOf(By, at, StringComparison.Ordinal);
        if (by < 0)
        {
            return null;
        }

        var approvers = details![(by + By.Length)..].Split(';', 2)[0].Trim();
        return new ApprovalGrant(details[(at + Marker.Length)..by], approvers.Split(',', StringSplitOptions.RemoveEmptyEntries));
    }
}

/// <summary>Options for a new key.</summary>
/// <param name="DestructionDelay">Overrides the service's default destruction delay (<c>RekeyServiceOptions.DefaultDestructionDelay</c>).</param>
/// <param name="DeletionAllowed">Whether the key may later be deleted (off by default: deleting a key makes its data unreadable).</param>
public sealed record KeyCreateOptions(TimeSpan? DestructionDelay = null, bool DeletionAllowed = false);

/// <summary>A change to a key's configuration; null fields stay as they are.</summary>
/// <param name="DestructionDelay">The new destruction delay.</param>
/// <param name="DeletionAllowed">Whether the key may be deleted.</param>
public sealed record KeyConfigUpdate(TimeSpan? DestructionDelay = null, bool? DeletionAllowed = null);


/// <summary>Options for a rotation.</summary>
/// <param name="ExpectedActiveVersion">When set, the rotation happens only if this is still the Active version (else <c>Conflict</c>).</param>
/// <param name="Activate">False stages the new version as Pending, to be activated later, so every instance knows it first.</param>
/// <param name="Cause">What started the rotation, recorded in its rotation record: <c>manual</c> (the default) or a policy trigger.</param>
/// <param name="Details">Added to the audit event's details, for example how late a scheduled rotation is.</param>
public sealed record RotateOptions(int? ExpectedActiveVersion = null, bool Activate = true, string? Cause = null, string? Details = null);

/// <summary>Options for destroying a version by hand.</summary>
/// <param name="Force">
/// Destroy even though the inventory shows values under the version, or has not been counted since
/// the version stopped encrypting. Needs a reason in the change context; the audit event records both.
/// </param>
public sealed record DestroyOptions(bool Force = false);
