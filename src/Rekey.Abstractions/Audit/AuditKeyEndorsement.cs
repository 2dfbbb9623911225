using System.Globalization;
using System.Text;

namespace Rekey.Audit;

/// <summary>The outcome of replacing the audit-signing key.</summary>
/// <param name="KeyId">The new key's id.</param>
/// <param name="Checkpoint">The checkpoint the new key signed over the hand-over event.</param>
public sealed record AuditKeyRotation(string KeyId, AuditCheckpoint Checkpoint);

/// <summary>
/// A statement, signed by the audit-signing key being replaced, that names its successor: the
/// new key's id and public key. It is written as the details of the
/// <c>audit.signing_key.rotate</c> event, so the hand-over sits in the hash chain, and a verifier
/// that trusts the old key (pinned from outside the database) learns to trust the new one only
/// through this signature.
/// </summary>
/// <param name="PreviousKeyId">The key that signs the statement (the one being replaced).</param>
/// <param name="KeyId">The successor's id.</param>
/// <param name="PublicKey">The successor's public key, SubjectPublicKeyInfo DER.</param>
/// <param name="Signature">ECDSA P-256 / SHA-256, P1363 form, by the previous key.</param>
public sealed record AuditKeyEndorsement(string PreviousKeyId, string KeyId, byte[] PublicKey, byte[] Signature)
{
    /// <summary>The audit action under which endorsements are recorded.</summary>
    public const string Action = "audit.signing_key.rotate";

    private const string Prefix = "endorsed-by=";
    private static readonly byte[] Domain = "rekey-audit-key-endorsement-v1"u8.ToArray();

    /// <summary>The exact bytes the previous key signs: a domain label, both ids and the new public key, each length-prefixed.</summary>
    public static byte[] SignedBytes(string previousKeyId, string keyId, ReadOnlySpan<byte> publicKey)
    {
        ArgumentNullException.ThrowIfNull(previousKeyId);
        ArgumentNullException.ThrowIfNull(keyId);
        using var buffer = new MemoryStream();
        buffer.Write(Domain);
        Write(buffer, Encoding.ASCII.GetBytes(previousKeyId));
        Write(buffer, Encoding.ASCII.GetBytes(keyId));
        Write(buffer, publicKey);
        return buffer.ToArray();
    }

    /// <summary>True when the signature verifies under the previous key's public key and the new key's id matches its public key.</summary>
    public bool VerifyWith(ReadOnlySpan<byte> previousPublicKey) =>
        string.Equals(AuditKeyId.Of(PublicKey), KeyId, StringComparison.Ordinal)
        && AuditCheckpoint.VerifyP256(previousPublicKey, SignedBytes(PreviousKeyId, KeyId, PublicKey), Signature);

    /// <summary>The audit details form: <c>endorsed-by=ID key=ID public-key=BASE64 signature=BASE64</c>.</summary>
    public string ToDetails() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Prefix}{PreviousKeyId} key={KeyId} public-key={Convert.ToBase64String(PublicKey)} signature={Convert.ToBase64String(Signature)}");

    /// <summary>Reads the details form back; false for anything else (the verifier then ignores the event for trust).</summary>
    public static bool TryParse(string? details, out AuditKeyEndorsement endorsement)
    {
        endorsement = null!;
        if (details is null || !details.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var fields = details.Split(' ');
        if (fields.Length != 4
            || !fields[1].StartsWith("key=", StringComparison.Ordinal)
            || !fields[2].StartsWith("public-key=", StringComparison.Ordinal)
            || !fields[3].StartsWith("signature=", StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            endorsement = new AuditKeyEndorsement(
                fields[0][Prefix.Length..],
                fields[1]["key=".Length..],
                Convert.FromBase64String(fields[2]["public-key=".Length..]),
                Convert.FromBase64String(fields[3]["signature=".Length..]));
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static void Write(MemoryStream buffer, ReadOnlySpan<byte> value)
    {
        Span<byte> length = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(length, value.Length);
        buffer.Write(length);
        buffer.Write(value);
    }
}
