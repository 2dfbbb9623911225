using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Rekey.Audit;

/// <summary>
/// Seals audit events into a hash chain: each event's hash covers the previous event's hash and
/// every field of its own, in a fixed length-prefixed encoding (docs/formats.md), so editing,
/// removing, inserting or reordering any event breaks every hash after it.
/// </summary>
public static class AuditChain
{
    /// <summary>The previous hash of the first event.</summary>
    public static readonly string GenesisHash = new('0', 64);

    private static readonly byte[] Domain = "rekey-audit-v1"u8.ToArray();

    // Events with any of the structured caller fields are hashed under v2, which adds them; events
    // without keep the v1 encoding, so logs written before still verify.
    private static readonly byte[] DomainV2 = "rekey-audit-v2"u8.ToArray();

    /// <summary>Gives a record its sequence number and hash, linked to the event before it.</summary>
    public static AuditEvent Seal(AuditRecord record, long sequence, string previousHash)
    {
        ArgumentNullException.ThrowIfNull(record);
        var normalized = record with { Time = TruncateToMilliseconds(record.Time) };
        return new AuditEvent(sequence, normalized, previousHash, ComputeHash(normalized, sequence, previousHash));
    }

    /// <summary>Computes the hash an event must carry.</summary>
    public static string ComputeHash(AuditRecord record, long sequence, string previousHash)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(previousHash);
        using var buffer = new MemoryStream(256);
        var v2 = record.Reason is not null || record.RequestId is not null || record.Client is not null || record.PresentedTokenId is not null;
        buffer.Write(v2 ? DomainV2 : Domain);
        WriteString(buffer, previousHash);
        WriteInt64(buffer, sequence);
        WriteInt64(buffer, record.Time.ToUnixTimeMilliseconds());
        WriteString(buffer, record.Actor);
        WriteString(buffer, record.Action);
        WriteString(buffer, record.Key);
        WriteInt(buffer, record.FromVersion);
        WriteInt(buffer, record.ToVersion);
        WriteString(buffer, record.Outcome);
        WriteString(buffer, record.Details);
        if (v2)
        {
            WriteString(buffer, record.Reason);
            WriteString(buffer, record.RequestId);
            WriteString(buffer, record.Client);
            WriteString(buffer, record.PresentedTokenId);
        }

        return Convert.ToHexStringLower(SHA256.HashData(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)));
    }

    /// <summary>Times are kept to the millisecond so every store round-trips them exactly.</summary>
    public static DateTimeOffset TruncateToMilliseconds(DateTimeOffset time) =>
        DateTimeOffset.FromUnixTimeMilliseconds(time.ToUnixTimeMilliseconds());

    // A null string and an empty one hash differently: a presence byte, then length and bytes.
    private static void WriteString(MemoryStream buffer, string? value)
    {
        if (value is null)
        {
            buffer.WriteByte(0);
            return;
        }

        buffer.WriteByte(1);
        var bytes = Encoding.UTF8.GetBytes(value);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
        buffer.Write(length);
        buffer.Write(bytes);
    }

    private static void WriteInt(MemoryStream buffer, int? value)
    {
        if (value is null)
        {
            buffer.WriteByte(0);
            return;
        }

        buffer.WriteByte(1);
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value.Value);
        buffer.Write(bytes);
    }

    private static void WriteInt64(MemoryStream buffer, long value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        buffer.Write(bytes);
    }
}
