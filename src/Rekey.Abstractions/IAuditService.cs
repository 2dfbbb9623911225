using Rekey.Audit;

namespace Rekey;

/// <summary>The audit log: read it, sign its head, rotate its signing key, verify it.</summary>
public interface IAuditService
{
    /// <summary>Reads audit events after a sequence number, oldest first.</summary>
    Task<IReadOnlyList<AuditEvent>> ReadAuditAsync(long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default);

    /// <summary>Signs the audit chain's current head; null for an empty log.</summary>
    Task<AuditCheckpoint?> CheckpointAuditAsync(ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>The audit-signing public keys (SubjectPublicKeyInfo DER), by key id.</summary>
    Task<IReadOnlyDictionary<string, byte[]>> GetAuditPublicKeysAsync(CancellationToken cancellationToken = default);

    /// <summary>Replaces the audit-signing key; the old key endorses the new one in the chain.</summary>
    Task<AuditKeyRotation> RotateAuditSigningKeyAsync(ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Verifies the whole audit chain and every signed checkpoint (stored and witnessed), against
    /// pinned public keys and the expected head when given.
    /// </summary>
    Task<AuditVerification> VerifyAuditAsync(AuditVerifyOptions options, CancellationToken cancellationToken = default);
}
