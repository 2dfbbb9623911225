using System.Security.Cryptography;
using Rekey.Root;

namespace Rekey.Audit;

/// <summary>
/// The audit-signing key: an ECDSA P-256 key whose private half is stored only wrapped by the
/// root key, like any key material. Signs checkpoints of the chain head; its public key is
/// exported so anyone can verify them without access to Rekey's secrets.
/// </summary>
internal sealed class AuditSigner : IDisposable
{
    private readonly ECDsa _key;

    private AuditSigner(ECDsa key)
    {
        _key = key;
        PublicKey = key.ExportSubjectPublicKeyInfo();
        KeyId = AuditKeyId.Of(PublicKey);
    }

    /// <summary>The public key, SubjectPublicKeyInfo DER: give this to verifiers.</summary>
    public byte[] PublicKey { get; }

    /// <summary>A fingerprint of the public key, written into each checkpoint.</summary>
    public string KeyId { get; }

    /// <summary>Creates a new signing key and returns it with its private key wrapped by the root.</summary>
    public static async Task<(AuditSigner Signer, byte[] WrappedPrivateKey)> CreateAsync(IRootKeyProvider root, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(root);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var signer = new AuditSigner(key);
        var pkcs8 = key.ExportPkcs8PrivateKey();
        try
        {
            return (signer, await root.WrapAsync(pkcs8, RootBindings.ForSigningKey(signer.KeyId), cancellationToken).ConfigureAwait(false));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    /// <summary>Loads a signing key from its root-wrapped private key.</summary>
    public static async Task<AuditSigner> OpenAsync(IRootKeyProvider root, string keyId, byte[] wrappedPrivateKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(root);
        var pkcs8 = await root.UnwrapAsync(wrappedPrivateKey, RootBindings.ForSigningKey(keyId), cancellationToken).ConfigureAwait(false);
        try
        {
            var key = ECDsa.Create();
            key.ImportPkcs8PrivateKey(pkcs8, out _);
            var signer = new AuditSigner(key);
            return signer.KeyId == keyId
                ? signer
                : throw new CryptographicException("The unwrapped audit-signing key does not match its id.");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    /// <summary>Signs the chain head.</summary>
    public AuditCheckpoint Sign(AuditHead head, DateTimeOffset time)
    {
        var at = AuditChain.TruncateToMilliseconds(time);
        var signature = _key.SignData(AuditCheckpoint.SignedBytes(head.Sequence, head.Hash, at, KeyId), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return new AuditCheckpoint(head.Sequence, head.Hash, at, KeyId, signature);
    }

    /// <summary>Signs a statement that <paramref name="successor"/> replaces this key (see <see cref="AuditKeyEndorsement"/>).</summary>
    public AuditKeyEndorsement Endorse(AuditSigner successor)
    {
        ArgumentNullException.ThrowIfNull(successor);
        var signature = _key.SignData(AuditKeyEndorsement.SignedBytes(KeyId, successor.KeyId, successor.PublicKey), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return new AuditKeyEndorsement(KeyId, successor.KeyId, successor.PublicKey, signature);
    }

    /// <summary>Zeroes the private key held in memory.</summary>
    public void Dispose() => _key.Dispose();
}
