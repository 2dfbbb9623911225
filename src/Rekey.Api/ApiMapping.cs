using Rekey.Access;
using Rekey.Audit;
using Rekey.Keys;

namespace Rekey.Api;

/// <summary>Converts between the library's records and the API's wire shapes, both ways, so server and client agree by construction.</summary>
public static class ApiMapping
{
    /// <summary>A key for the wire, with its versions when given.</summary>
    public static KeyResource ToResource(KeyInfo key, IReadOnlyList<KeyVersionInfo>? versions)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new KeyResource(
            key.Name.Value,
            key.CreatedAt,
            key.MinDecryptionVersion,
            (long)key.DestructionDelay.TotalSeconds,
            key.DeletionAllowed,
            key.ActiveVersion,
            key.LatestVersion,
            versions?.Select(ToResource).ToList());
    }

    /// <summary>A version for the wire.</summary>
    public static VersionResource ToResource(KeyVersionInfo v)
    {
        ArgumentNullException.ThrowIfNull(v);
        return new VersionResource(v.Key.Value, v.Version, v.State.ToString(), v.CreatedAt, v.ActivatedAt, v.DeactivatedAt, v.RetireDeadline, v.DestroyAfter, v.DestroyedAt, v.EncryptCount, v.DecryptCount, v.Origin == KeyVersionOrigin.Imported ? "imported" : "generated");
    }

    /// <summary>A key from the wire.</summary>
    public static KeyInfo FromResource(KeyResource r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new KeyInfo(KeyName.Parse(r.Name), r.CreatedAt, r.MinDecryptionVersion, TimeSpan.FromSeconds(r.DestructionDelaySeconds), r.ActiveVersion, r.LatestVersion, r.DeletionAllowed);
    }

    /// <summary>A version from the wire.</summary>
    public static KeyVersionInfo FromResource(VersionResource r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new KeyVersionInfo(
            KeyName.Parse(r.Key), r.Version, Enum.Parse<KeyVersionState>(r.State), r.CreatedAt, r.ActivatedAt, r.DeactivatedAt, r.RetireDeadline, r.DestroyAfter, r.DestroyedAt, r.EncryptCount, r.DecryptCount, r.Origin == "imported" ? KeyVersionOrigin.Imported : KeyVersionOrigin.Generated);
    }

    /// <summary>An audit event for the wire.</summary>
    public static AuditEventResource ToResource(AuditEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var r = e.Record;
        return new AuditEventResource(e.Sequence, r.Time, r.Actor, r.Action, r.Key, r.FromVersion, r.ToVersion, r.Outcome, r.Details, e.PreviousHash, e.Hash, r.Reason, r.RequestId, r.Client, r.PresentedTokenId);
    }

    /// <summary>An audit event from the wire (its hashes are checked by whoever verifies the chain).</summary>
    public static AuditEvent FromResource(AuditEventResource r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var record = new AuditRecord(r.Time, r.Actor, r.Action, r.Key, r.FromVersion, r.ToVersion, r.Outcome, r.Details)
        {
            Reason = r.Reason,
            RequestId = r.RequestId,
            Client = r.Client,
            PresentedTokenId = r.PresentedTokenId,
        };
        return new AuditEvent(r.Sequence, record, r.PreviousHash, r.Hash);
    }

    /// <summary>A checkpoint for the wire.</summary>
    public static CheckpointResource ToResource(AuditCheckpoint c)
    {
        ArgumentNullException.ThrowIfNull(c);
        return new CheckpointResource(c.Sequence, c.Hash, c.Time, c.KeyId, Convert.ToBase64String(c.Signature));
    }

    /// <summary>A checkpoint from the wire.</summary>
    public static AuditCheckpoint FromResource(CheckpointResource r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new AuditCheckpoint(r.Sequence, r.Hash, r.Time, r.KeyId, Convert.FromBase64String(r.Signature));
    }

    /// <summary>A verification verdict for the wire.</summary>
    public static AuditVerifyResponse ToResource(AuditVerification v)
    {
        ArgumentNullException.ThrowIfNull(v);
        return new AuditVerifyResponse(v.IsValid, v.EventCount, v.Head?.ToString(), v.FailedAtSequence, v.Problem, v.CheckpointCount, v.KeysPinned, v.WitnessedCount, v.SigningKeysProven);
    }

    /// <summary>A policy for the wire.</summary>
    public static PolicyResource ToResource(Lifecycle.PolicyEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return new PolicyResource(entry.Pattern, entry.Policy, entry.UpdatedAt);
    }

    /// <summary>A key's effective policy for the wire.</summary>
    public static EffectivePolicyResource ToResource(Lifecycle.EffectivePolicy effective)
    {
        ArgumentNullException.ThrowIfNull(effective);
        return new EffectivePolicyResource(effective.Key.Value, effective.Policy, effective.Sources, effective.NextDue, effective.Waiting, effective.LastAction);
    }

    /// <summary>A rotation record for the wire.</summary>
    public static RotationResource ToResource(Lifecycle.RotationRecord r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new RotationResource(r.Id, r.Key.Value, r.FromVersion, r.ToVersion, r.Cause, r.Phase.ToString().ToLowerInvariant(), r.CreatedAt, r.UpdatedAt, r.PhaseTimes, r.Jobs, r.Remaining, r.Note);
    }

    /// <summary>The wire form of an approval.</summary>
    public static ApprovalResource ToResource(Approvals.ApprovalInfo approval) => new(
        approval.Id,
        approval.Request.Operation,
        approval.Request.Key,
        approval.Request.Version,
        approval.Request.Fields,
        approval.Request.ToString(),
        approval.RequestHash,
        approval.Requester,
        approval.Reason,
        approval.Required,
        approval.State.ToString().ToLowerInvariant(),
        approval.CreatedAt,
        approval.ExpiresAt,
        approval.DecidedAt,
        approval.Votes.Select(v => new ApprovalVoteResource(v.Approver, v.At, v.Approve ? "approve" : "deny", v.Comment)).ToList(),
        approval.Result);
}
