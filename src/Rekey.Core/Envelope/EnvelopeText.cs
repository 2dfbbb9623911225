using System.Buffers.Text;
using System.Globalization;
using Rekey.Errors;

namespace Rekey.Envelope;

/// <summary>
/// The text form of an envelope: <c>rekey:v&lt;N&gt;:&lt;base64url of the bytes, no padding&gt;</c>.
/// The visible version is for people and for finding old ciphertexts with a plain query; it must
/// agree with the version inside the bytes, or the text is rejected.
/// </summary>
public static class EnvelopeText
{
    /// <summary>The prefix every text envelope starts with.</summary>
    public const string Prefix = "rekey:v";

    /// <summary>Formats envelope bytes as text.</summary>
    public static string Encode(ReadOnlySpan<byte> envelope)
    {
        if (!EnvelopeLayout.TryParse(envelope, out var layout))
        {
            throw new ArgumentException("Not a Rekey envelope.", nameof(envelope));
        }

        return string.Create(CultureInfo.InvariantCulture, $"{Prefix}{layout.Version}:{Base64Url.EncodeToString(envelope)}");
    }

    /// <summary>True when the text starts like an envelope's text form (cheap; does not validate).</summary>
    public static bool LooksLikeText(ReadOnlySpan<char> text) => text.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>Parses the text form; any malformation is <see cref="RekeyErrorCode.DecryptionFailed"/>.</summary>
    public static byte[] Decode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var span = text.AsSpan().Trim();
        if (!span.StartsWith(Prefix, StringComparison.Ordinal))
        {
            throw RekeyException.DecryptionFailed();
        }

        span = span[Prefix.Length..];
        var colon = span.IndexOf(':');
        if (colon is < 1 or > 10
            || !int.TryParse(span[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            || span.Length - colon - 1 > Base64Url.GetEncodedLength(EnvelopeLayout.TotalLength(128, EnvelopeLayout.MaxPlaintextLength)))
        {
            throw RekeyException.DecryptionFailed();
        }

        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(span[(colon + 1)..]);
        }
        catch (FormatException)
        {
            throw RekeyException.DecryptionFailed();
        }

        if (!EnvelopeLayout.TryParse(bytes, out var layout) || layout.Version != version)
        {
            throw RekeyException.DecryptionFailed();
        }

        return bytes;
    }
}
