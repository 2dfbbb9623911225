using System.Buffers.Binary;
using Rekey.Keys;

namespace Rekey.Envelope;

/// <summary>
/// Format v1's byte layout (docs/formats.md is the specification):
/// <code>
/// magic "RK" (2) | format 0x01 (1) | algorithm 0x01 (1) | key name length L (1) | key name (L, ASCII)
/// | key version (4, big-endian, >= 1) | wrapped key length W (1, = 40) | wrapped data key (W)
/// | nonce (12) | data ciphertext (n) | tag (16)
/// </code>
/// Every length is checked against the input before anything is sliced.
/// </summary>
internal readonly ref struct EnvelopeLayout
{
    public const byte Magic0 = (byte)'R';
    public const byte Magic1 = (byte)'K';
    public const byte FormatVersion = 1;
    public const int DataKeySize = 32;
    public const int WrappedKeySize = 40;
    public const int MaxPlaintextLength = 64 * 1024 * 1024;

    /// <summary>AES-GCM's nonce in format v1 (Core's data cipher uses the same sizes).</summary>
    public const int NonceSize = 12;

    /// <summary>AES-GCM's tag in format v1.</summary>
    public const int TagSize = 16;

    private const int FixedPrefix = 5;

    public EnvelopeLayout(ReadOnlySpan<byte> envelope, int nameLength)
    {
        Envelope = envelope;
        NameLength = nameLength;
    }

    public ReadOnlySpan<byte> Envelope { get; }

    public int NameLength { get; }

    public ReadOnlySpan<byte> KeyNameBytes => Envelope.Slice(FixedPrefix, NameLength);

    public int VersionOffset => FixedPrefix + NameLength;

    public int Version => (int)BinaryPrimitives.ReadUInt32BigEndian(Envelope[VersionOffset..]);

    public int WrappedKeyOffset => VersionOffset + 5;

    public ReadOnlySpan<byte> WrappedKey => Envelope.Slice(WrappedKeyOffset, WrappedKeySize);

    public ReadOnlySpan<byte> Nonce => Envelope.Slice(WrappedKeyOffset + WrappedKeySize, NonceSize);

    public int CiphertextOffset => WrappedKeyOffset + WrappedKeySize + NonceSize;

    public ReadOnlySpan<byte> Ciphertext => Envelope[CiphertextOffset..^TagSize];

    public ReadOnlySpan<byte> Tag => Envelope[^TagSize..];

    public static int HeaderLength(int nameLength) => FixedPrefix + nameLength + 5 + WrappedKeySize + NonceSize;

    public static int TotalLength(int nameLength, int plaintextLength) => HeaderLength(nameLength) + plaintextLength + TagSize;

    /// <summary>Checks the structure without any key. False means "not a v1 envelope we can read".</summary>
    public static bool TryParse(ReadOnlySpan<byte> envelope, out EnvelopeLayout layout)
    {
        layout = default;
        if (envelope.Length < FixedPrefix
            || envelope[0] != Magic0
            || envelope[1] != Magic1
            || envelope[2] != FormatVersion
            || envelope[3] != (byte)EnvelopeAlgorithm.Aes256GcmKwp)
        {
            return false;
        }

        int nameLength = envelope[4];
        if (nameLength is 0 or > KeyName.MaxLength || envelope.Length < TotalLength(nameLength, 0))
        {
            return false;
        }

        var candidate = new EnvelopeLayout(envelope, nameLength);
        if (candidate.Version < 1
            || envelope[candidate.VersionOffset + 4] != WrappedKeySize
            || candidate.Ciphertext.Length > MaxPlaintextLength)
        {
            return false;
        }

        foreach (var b in candidate.KeyNameBytes)
        {
            if (b > 0x7F)
            {
                return false;
            }
        }

        layout = candidate;
        return true;
    }

    /// <summary>Writes magic, format, algorithm, key name, version and wrapped-key length; the caller fills the wrapped key and nonce.</summary>
    public static void WriteHeader(Span<byte> destination, ReadOnlySpan<byte> keyName, int version)
    {
        destination[0] = Magic0;
        destination[1] = Magic1;
        destination[2] = FormatVersion;
        destination[3] = (byte)EnvelopeAlgorithm.Aes256GcmKwp;
        destination[4] = (byte)keyName.Length;
        keyName.CopyTo(destination[FixedPrefix..]);
        WriteVersion(destination, keyName.Length, version);
        destination[FixedPrefix + keyName.Length + 4] = WrappedKeySize;
    }

    public static void WriteVersion(Span<byte> envelope, int nameLength, int version) =>
        BinaryPrimitives.WriteUInt32BigEndian(envelope[(FixedPrefix + nameLength)..], (uint)version);
}
