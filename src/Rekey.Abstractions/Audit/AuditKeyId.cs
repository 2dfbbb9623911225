using System.Security.Cryptography;

namespace Rekey.Audit;

/// <summary>How an audit-signing key is named: checkpoints carry the id, verifiers recompute it from the public key.</summary>
public static class AuditKeyId
{
    /// <summary>The id of a public key (SubjectPublicKeyInfo DER): <c>audit:</c> and the first 8 bytes of its SHA-256, in hex.</summary>
    public static string Of(ReadOnlySpan<byte> publicKey) => "audit:" + Convert.ToHexStringLower(SHA256.HashData(publicKey).AsSpan(0, 8));
}
