using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Rekey.Errors;

namespace Rekey.Envelope;

/// <summary>
/// The text form of an envelope: <c>rekey:v&lt;N&gt;:&lt;base64url of the bytes, no padding&gt;</c>.
/// The visible version is for people and for finding old ciphertexts with a plain query; it must
/// agree with the version inside the bytes, or the text is rejected.
/// </summary>
/// <remarks>
/// Only the one canonical spelling is accepted: no surrounding whitespace, no leading zeros in the
/// version, no padding, no characters the decoder would skip, no stray bits in the last character.
/// Otherwise <c>WHERE ciphertext LIKE 'rekey:v1:%'</c> could miss values that still decrypt.
/// </remarks>
public static class EnvelopeText
{
    /// <summary>The prefix every text envelope starts with.</summary>
    public const string Prefix = "rekey:v";

    /// <summary>Formats envelope bytes as text.</summary>
    public static string Encode(ReadOnlySpan<byte> envelope)
    {
        var layout = Parse(envelope);
        return string.Create(CultureInfo.InvariantCulture, $"{Prefix}{layout.Version}:{Base64Url.EncodeToString(envelope)}");
    }

    /// <summary>How many bytes <see cref="EncodeToUtf8"/> writes for these envelope bytes.</summary>
    public static int GetUtf8Length(ReadOnlySpan<byte> envelope)
    {
        var layout = Parse(envelope);
        return Prefix.Length + CountDigits(layout.Version) + 1 + Base64Url.GetEncodedLength(envelope.Length);
    }

    /// <summary>
    /// Writes the UTF-8 bytes of the text form (the same characters as <see cref="Encode"/>) into
    /// <paramref name="destination"/>, at least <see cref="GetUtf8Length"/> bytes, and returns how
    /// many it wrote; nothing is allocated. For code that reads and writes text columns as bytes.
    /// </summary>
    public static int EncodeToUtf8(ReadOnlySpan<byte> envelope, Span<byte> destination)
    {
        var layout = Parse(envelope);
        var written = Encoding.ASCII.GetBytes(Prefix, destination);
        layout.Version.TryFormat(destination[written..], out var digits, provider: CultureInfo.InvariantCulture);
        written += digits;
        destination[written++] = (byte)':';
        return written + Base64Url.EncodeToUtf8(envelope, destination[written..]);
    }

    /// <summary>True when the text starts like an envelope's text form (cheap; does not validate).</summary>
    public static bool LooksLikeText(ReadOnlySpan<char> text) => text.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>The most bytes <see cref="DecodeFromUtf8"/> can write for a text of this many bytes.</summary>
    public static int GetMaxDecodedLength(int utf8Length) => Base64Url.GetMaxDecodedLength(Math.Max(0, utf8Length - Prefix.Length - 2));

    /// <summary>
    /// Parses the UTF-8 bytes of the text form into <paramref name="destination"/> (sized with
    /// <see cref="GetMaxDecodedLength"/>), without allocating: for loops over many stored values.
    /// Any malformation is <see cref="RekeyErrorCode.DecryptionFailed"/>, as in <see cref="Decode"/>.
    /// </summary>
    public static int DecodeFromUtf8(ReadOnlySpan<byte> utf8, Span<byte> destination)
    {
        var span = utf8;
        if (!span.StartsWith("rekey:v"u8))
        {
            throw RekeyException.DecryptionFailed();
        }

        span = span[Prefix.Length..];
        var colon = span.IndexOf((byte)':');
        if (colon is < 1 or > 10
            || span[0] == (byte)'0'
            || !int.TryParse(span[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            || span.Length - colon - 1 > MaxEncodedLength)
        {
            throw RekeyException.DecryptionFailed();
        }

        var payload = span[(colon + 1)..];
        if (Base64Url.DecodeFromUtf8(payload, destination, out _, out var written) != OperationStatus.Done
            || !IsCanonical(payload.Length, payload.IsEmpty ? (byte)0 : payload[^1], written))
        {
            throw RekeyException.DecryptionFailed();
        }

        return CheckVersion(destination[..written], version);
    }

    /// <summary>Parses the text form; any malformation is <see cref="RekeyErrorCode.DecryptionFailed"/>.</summary>
    public static byte[] Decode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var span = text.AsSpan();
        if (!span.StartsWith(Prefix, StringComparison.Ordinal))
        {
            throw RekeyException.DecryptionFailed();
        }

        span = span[Prefix.Length..];
        var colon = span.IndexOf(':');
        if (colon is < 1 or > 10
            || span[0] == '0'
            || !int.TryParse(span[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            || span.Length - colon - 1 > MaxEncodedLength)
        {
            throw RekeyException.DecryptionFailed();
        }

        var payload = span[(colon + 1)..];
        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(payload);
        }
        catch (FormatException)
        {
            throw RekeyException.DecryptionFailed();
        }

        if (payload.IsEmpty || payload[^1] > 127 || !IsCanonical(payload.Length, (byte)payload[^1], bytes.Length))
        {
            throw RekeyException.DecryptionFailed();
        }

        CheckVersion(bytes, version);
        return bytes;
    }

    // Exactly as long as the unpadded encoding of what it decoded to (so no padding and nothing
    // skipped), and no bits set in the last character beyond the data's.
    private static bool IsCanonical(int encodedLength, byte last, int decodedLength)
    {
        if (encodedLength != Base64Url.GetEncodedLength(decodedLength))
        {
            return false;
        }

        var value = last switch
        {
            >= (byte)'A' and <= (byte)'Z' => last - 'A',
            >= (byte)'a' and <= (byte)'z' => last - 'a' + 26,
            >= (byte)'0' and <= (byte)'9' => last - '0' + 52,
            (byte)'-' => 62,
            (byte)'_' => 63,
            _ => -1,
        };
        return (decodedLength % 3) switch
        {
            1 => value >= 0 && (value & 0x0F) == 0,
            2 => value >= 0 && (value & 0x03) == 0,
            _ => value >= 0,
        };
    }

    private static EnvelopeLayout Parse(ReadOnlySpan<byte> envelope) =>
        EnvelopeLayout.TryParse(envelope, out var layout) ? layout : throw new ArgumentException("Not a Rekey envelope.", nameof(envelope));

    /// <summary>How many decimal digits a non-negative version has (both text spellings print it).</summary>
    internal static int CountDigits(int value)
    {
        var digits = 1;
        for (; value >= 10; value /= 10)
        {
            digits++;
        }

        return digits;
    }

    private static int MaxEncodedLength => Base64Url.GetEncodedLength(EnvelopeLayout.TotalLength(128, EnvelopeLayout.MaxPlaintextLength));

    // The visible version must agree with the one inside the bytes.
    private static int CheckVersion(ReadOnlySpan<byte> envelope, int version) =>
        EnvelopeLayout.TryParse(envelope, out var layout) && layout.Version == version ? envelope.Length : throw RekeyException.DecryptionFailed();
}
