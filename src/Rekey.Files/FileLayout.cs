using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Rekey.Files;

/// <summary>
/// The byte layout of an encrypted file (docs/formats.md, "Encrypted files"): a fixed prefix, two
/// header slots, then the data in sealed segments. Everything here is pure arithmetic over bytes.
/// </summary>
public static class FileLayout
{
    /// <summary>The first eight bytes of every encrypted file.</summary>
    public static ReadOnlySpan<byte> Magic => "RKEYFILE"u8;

    /// <summary>The format version this build writes and reads.</summary>
    public const byte FormatVersion = 1;

    /// <summary>
    /// Plaintext bytes per segment, 64 KiB: the tag costs 0.02% of the size, a segment is sealed in
    /// one call that stays in cache, and a reader holds only two segments (constant memory whatever
    /// the file's size) and never releases more than 64 KiB it has not authenticated.
    /// </summary>
    public const int SegmentSize = 64 * 1024;

    /// <summary>log2 of <see cref="SegmentSize"/>, as the prefix records it.</summary>
    public const byte SegmentSizeLog2 = 16;

    /// <summary>The AES-GCM tag closing each segment.</summary>
    public const int TagSize = 16;

    /// <summary>A segment as stored, full: its plaintext and tag.</summary>
    public const int SealedSegmentSize = SegmentSize + TagSize;

    /// <summary>Random bytes per file, the salt of its key derivation.</summary>
    public const int SaltSize = 32;

    /// <summary>The prefix: magic, format version, segment size, two reserved zero bytes, salt. Never changes after the file is written.</summary>
    public const int PrefixSize = 12 + SaltSize;

    /// <summary>One header slot: a sequence number, the data key's envelope, padding and a checksum.</summary>
    public const int SlotSize = 512;

    /// <summary>The largest envelope a slot holds.</summary>
    public const int MaxEnvelopeSize = SlotSize - 8 - 2 - ChecksumSize;

    /// <summary>Where the data begins: after the prefix and both slots.</summary>
    public const int HeaderSize = PrefixSize + (2 * SlotSize);

    private const int ChecksumSize = 32;

    private static ReadOnlySpan<byte> KeyInfo => "rekey file v1 segment key"u8;

    /// <summary>Where slot 0 or 1 starts.</summary>
    public static int SlotOffset(int slot) => PrefixSize + (slot * SlotSize);

    /// <summary>Writes a new prefix with <paramref name="salt"/> into <paramref name="prefix"/>.</summary>
    public static void WritePrefix(Span<byte> prefix, ReadOnlySpan<byte> salt)
    {
        prefix[..PrefixSize].Clear();
        Magic.CopyTo(prefix);
        prefix[8] = FormatVersion;
        prefix[9] = SegmentSizeLog2;
        salt[..SaltSize].CopyTo(prefix[12..]);
    }

    /// <summary>True when <paramref name="prefix"/> is a prefix this build reads.</summary>
    public static bool IsPrefix(ReadOnlySpan<byte> prefix) =>
        prefix.Length >= PrefixSize && prefix[..8].SequenceEqual(Magic) && prefix[8] == FormatVersion && prefix[9] == SegmentSizeLog2 && prefix[10] == 0 && prefix[11] == 0;

    /// <summary>Fills a slot: <paramref name="sequence"/>, the envelope, zero padding, and the checksum over all of it.</summary>
    public static void WriteSlot(Span<byte> slot, ulong sequence, ReadOnlySpan<byte> envelope)
    {
        if (envelope.Length is 0 or > MaxEnvelopeSize)
        {
            throw new ArgumentException($"A header slot holds an envelope of 1 to {MaxEnvelopeSize} bytes.", nameof(envelope));
        }

        slot[..SlotSize].Clear();
        BinaryPrimitives.WriteUInt64BigEndian(slot, sequence);
        BinaryPrimitives.WriteUInt16BigEndian(slot[8..], (ushort)envelope.Length);
        envelope.CopyTo(slot[10..]);
        SHA256.HashData(slot[..(SlotSize - ChecksumSize)], slot[(SlotSize - ChecksumSize)..SlotSize]);
    }

    /// <summary>
    /// Reads a slot: its sequence number and envelope, or false when it is empty, torn by an
    /// interrupted write, or damaged (the checksum does not match).
    /// </summary>
    public static bool TryReadSlot(ReadOnlySpan<byte> slot, out ulong sequence, out ReadOnlySpan<byte> envelope)
    {
        sequence = 0;
        envelope = default;
        Span<byte> checksum = stackalloc byte[ChecksumSize];
        SHA256.HashData(slot[..(SlotSize - ChecksumSize)], checksum);
        if (!CryptographicOperations.FixedTimeEquals(checksum, slot[(SlotSize - ChecksumSize)..SlotSize]))
        {
            return false;
        }

        sequence = BinaryPrimitives.ReadUInt64BigEndian(slot);
        int length = BinaryPrimitives.ReadUInt16BigEndian(slot[8..]);
        if (sequence == 0 || length is 0 or > MaxEnvelopeSize)
        {
            return false;
        }

        envelope = slot.Slice(10, length);
        return true;
    }

    /// <summary>The slot a reader uses: the valid one with the higher sequence number, or -1 when neither is valid.</summary>
    public static int ActiveSlot(ReadOnlySpan<byte> header, out ulong sequence)
    {
        var active = -1;
        sequence = 0;
        for (var slot = 0; slot < 2; slot++)
        {
            if (TryReadSlot(header.Slice(SlotOffset(slot), SlotSize), out var seq, out _) && seq > sequence)
            {
                (active, sequence) = (slot, seq);
            }
        }

        return active;
    }

    /// <summary>
    /// The envelope a reader uses: the one in the valid slot with the higher sequence number, for a
    /// header whose prefix this build reads; false when the prefix is not one or neither slot is valid.
    /// </summary>
    public static bool TryActiveEnvelope(ReadOnlySpan<byte> header, out int slot, out ulong sequence, out ReadOnlySpan<byte> envelope)
    {
        envelope = default;
        sequence = 0;
        slot = IsPrefix(header) ? ActiveSlot(header, out _) : -1;
        return slot >= 0 && TryReadSlot(header.Slice(SlotOffset(slot), SlotSize), out sequence, out envelope);
    }

    /// <summary>
    /// Writes <paramref name="envelope"/> into the slot the header does not use now, with the next
    /// sequence number, so it becomes the active one; returns that slot's offset (the only bytes to
    /// write back). The header must have an active slot (<see cref="TryActiveEnvelope"/>).
    /// </summary>
    public static int WriteNextSlot(Span<byte> header, ReadOnlySpan<byte> envelope)
    {
        var active = ActiveSlot(header, out var sequence);
        if (active < 0)
        {
            throw new ArgumentException("The header has no valid slot to follow.", nameof(header));
        }

        var offset = SlotOffset(1 - active);
        WriteSlot(header.Slice(offset, SlotSize), sequence + 1, envelope);
        return offset;
    }

    /// <summary>
    /// The file's segment key: HKDF-SHA256 of the data key, salted with the file's salt, with the
    /// prefix's fixed fields in the info, so a changed prefix or another file's segments never open.
    /// </summary>
    public static void DeriveSegmentKey(ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> prefix, Span<byte> segmentKey)
    {
        Span<byte> info = stackalloc byte[KeyInfo.Length + 12];
        KeyInfo.CopyTo(info);
        prefix[..12].CopyTo(info[KeyInfo.Length..]);
        HKDF.DeriveKey(HashAlgorithmName.SHA256, dataKey, segmentKey[..32], prefix.Slice(12, SaltSize), info);
    }

    /// <summary>The STREAM nonce of segment <paramref name="index"/>: the index (8 bytes, big-endian), three zero bytes, and 1 for the last segment or 0.</summary>
    public static void Nonce(Span<byte> nonce, long index, bool last)
    {
        BinaryPrimitives.WriteInt64BigEndian(nonce, index);
        nonce[8] = 0;
        nonce[9] = 0;
        nonce[10] = 0;
        nonce[11] = last ? (byte)1 : (byte)0;
    }

    /// <summary>
    /// For a whole file of <paramref name="fileLength"/> bytes: how many segments and plaintext bytes
    /// it holds, or false when no sequence of segments has that length.
    /// </summary>
    public static bool TryMeasure(long fileLength, out long segments, out long plaintextLength)
    {
        segments = 0;
        plaintextLength = 0;
        var data = fileLength - HeaderSize;
        if (data < TagSize)
        {
            return false;
        }

        segments = (data + SealedSegmentSize - 1) / SealedSegmentSize;
        var lastSealed = data - ((segments - 1) * SealedSegmentSize);
        if (lastSealed < TagSize)
        {
            return false;
        }

        plaintextLength = data - (segments * TagSize);
        return true;
    }
}
