using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Rekey.Audit;

/// <summary>
/// A signed statement that the audit chain reached <paramref name="Sequence"/> with head hash
/// <paramref name="Hash"/> at <paramref name="Time"/>: ECDSA P-256 with SHA-256, in the
/// fixed-length IEEE P1363 form (r || s, 64 bytes). Unlike a bare hash chain, a checkpoint cannot
/// be recomputed by someone who can only write to the database.
/// </summary>
/// <param name="Sequence">The chain's last sequence number when signed.</param>
/// <param name="Hash">That event's hash.</param>
/// <param name="Time">When it was signed (millisecond precision).</param>
/// <param name="KeyId">Which signing key signed it (see <see cref="AuditKeyId"/>).</param>
/// <param name="Signature">The 64-byte P1363 signature.</param>
public sealed record AuditCheckpoint(long Sequence, string Hash, DateTimeOffset Time, string KeyId, byte[] Signature)
{
    private static readonly byte[] Domain = "rekey-audit-checkpoint-v1"u8.ToArray();

    /// <summary>The exact bytes signed: a domain label, sequence, head hash, time and key id.</summary>
    public static byte[] SignedBytes(long sequence, string hash, DateTimeOffset time, string keyId)
    {
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentNullException.ThrowIfNull(keyId);
        var hashBytes = Convert.FromHexString(hash);
        var keyBytes = System.Text.Encoding.ASCII.GetBytes(keyId);
        var message = new byte[Domain.Length + 8 + 8 + 1 + hashBytes.Length + 1 + keyBytes.Length];
        var span = message.AsSpan();
        Domain.CopyTo(span);
        span = span[Domain.Length..];
        BinaryPrimitives.WriteInt64BigEndian(span, sequence);
        BinaryPrimitives.WriteInt64BigEndian(span[8..], time.ToUnixTimeMilliseconds());
        span[16] = (byte)hashBytes.Length;
        hashBytes.CopyTo(span[17..]);
        span[17 + hashBytes.Length] = (byte)keyBytes.Length;
        keyBytes.CopyTo(span[(18 + hashBytes.Length)..]);
        return message;
    }

    /// <summary>True when the signature verifies under the given public key (SubjectPublicKeyInfo DER).</summary>
    public bool VerifyWith(ReadOnlySpan<byte> publicKey) =>
        VerifyP256(publicKey, SignedBytes(Sequence, Hash, Time, KeyId), Signature);

    /// <summary>
    /// ECDSA P-256 / SHA-256 verification of a fixed-length P1363 signature; false for any other
    /// curve, length or malformed key. The fixed-length form is used because the framework accepts
    /// one malformed DER encoding (Wycheproof's "MissingZero" case).
    /// </summary>
    internal static bool VerifyP256(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != 64)
        {
            return false;
        }

        using var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportSubjectPublicKeyInfo(publicKey, out var read);
            if (read != publicKey.Length || ecdsa.ExportParameters(false).Curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
            {
                return false;
            }
        }
        catch (CryptographicException)
        {
            return false;
        }

        return ecdsa.VerifyData(message, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }
}
