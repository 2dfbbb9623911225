using Rekey.Audit;

namespace Rekey.Storage;

/// <summary>An audit-signing key as stored: its public key, and its private key wrapped by the root.</summary>
/// <param name="KeyId">The key's fingerprint (see <see cref="AuditSigner.KeyId"/>).</param>
/// <param name="PublicKey">SubjectPublicKeyInfo DER.</param>
/// <param name="WrappedPrivateKey">PKCS#8, wrapped by the root key.</param>
/// <param name="RootKeyId">Which root key wrapped it.</param>
/// <param name="CreatedAt">When it was created.</param>
public sealed record StoredSigningKey(string KeyId, byte[] PublicKey, byte[] WrappedPrivateKey, string RootKeyId, DateTimeOffset CreatedAt);

/// <summary>Where audit-signing keys and signed checkpoints of the audit chain are kept.</summary>
public interface IAuditCheckpointStore
{
    /// <summary>Stores a new signing key, with the audit event recording it.</summary>
    Task AddSigningKeyAsync(StoredSigningKey key, AuditRecord audit, CancellationToken cancellationToken = default);

    /// <summary>Every signing key, oldest first.</summary>
    Task<IReadOnlyList<StoredSigningKey>> GetSigningKeysAsync(CancellationToken cancellationToken = default);

    /// <summary>Stores a checkpoint; a second one for the same sequence is ignored.</summary>
    Task AddCheckpointAsync(AuditCheckpoint checkpoint, CancellationToken cancellationToken = default);

    /// <summary>Every checkpoint, in sequence order.</summary>
    Task<IReadOnlyList<AuditCheckpoint>> GetCheckpointsAsync(CancellationToken cancellationToken = default);

    /// <summary>The last audit event's sequence and hash, or null for an empty log.</summary>
    Task<AuditHead?> GetAuditHeadAsync(CancellationToken cancellationToken = default);
}
