using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Rekey.Errors;

namespace Rekey.Envelope;

/// <summary>
/// The Vault Transit spelling of an envelope: <c>vault:v&lt;N&gt;:&lt;standard base64 of the envelope bytes&gt;</c>,
/// so clients written for Vault keep their parsing (the version between the colons), while the
/// bytes are an ordinary Rekey envelope that decrypts through either API.
/// </summary>
public static class VaultCiphertext
{
    /// <summary>The prefix every Vault-form ciphertext starts with.</summary>
    public const string Prefix = "vault:v";

    /// <summary>Formats envelope bytes in Vault's form.</summary>
    public static string Encode(ReadOnlySpan<byte> envelope) =>
        string.Create(CultureInfo.InvariantCulture, $"{Prefix}{EnvelopeReader.ReadVersion(envelope)}:{Convert.ToBase64String(envelope)}");

    /// <summary>How many bytes <see cref="EncodeToUtf8"/> writes for these envelope bytes.</summary>
    public static int GetUtf8Length(ReadOnlySpan<byte> envelope) =>
        Prefix.Length + EnvelopeText.CountDigits(EnvelopeReader.ReadVersion(envelope)) + 1 + Base64.GetMaxEncodedToUtf8Length(envelope.Length);

    /// <summary>
    /// Writes the UTF-8 bytes of <see cref="Encode"/>'s text into <paramref name="destination"/>
    /// (at least <see cref="GetUtf8Length"/> bytes) and returns how many it wrote; nothing is allocated.
    /// </summary>
    public static int EncodeToUtf8(ReadOnlySpan<byte> envelope, Span<byte> destination)
    {
        var written = Encoding.ASCII.GetBytes(Prefix, destination);
        EnvelopeReader.ReadVersion(envelope).TryFormat(destination[written..], out var digits, provider: CultureInfo.InvariantCulture);
        written += digits;
        destination[written++] = (byte)':';
        Base64.EncodeToUtf8(envelope, destination[written..], out _, out var encoded);
        return written + encoded;
    }

    /// <summary>True when the text starts like a Vault-form ciphertext (cheap; does not validate).</summary>
    public static bool LooksLikeText(ReadOnlySpan<char> text) => text.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>
    /// The envelope bytes of a Vault-form ciphertext, or null with a reason Vault clients
    /// recognise (no prefix, a bad version, bad base64, or a version that disagrees with the bytes).
    /// </summary>
    public static byte[]? TryDecode(string text, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(text);
        problem = null;
        if (!text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            problem = "invalid ciphertext: no prefix";
            return null;
        }

        var rest = text.AsSpan(Prefix.Length);
        var colon = rest.IndexOf(':');
        if (colon is < 1 or > 10 || rest[0] == '0' || !int.TryParse(rest[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            problem = "invalid ciphertext: the version between 'vault:v' and ':' is not a positive number";
            return null;
        }

        // Sized exactly from the padding, so the decoded bytes are the envelope with no copy.
        var payload = rest[(colon + 1)..];
        var padding = payload.EndsWith("==") ? 2 : payload.EndsWith("=") ? 1 : 0;
        var envelope = new byte[Math.Max(0, (payload.Length / 4 * 3) - padding)];
        if (payload.Length % 4 != 0 || !Convert.TryFromBase64Chars(payload, envelope, out var written) || written != envelope.Length)
        {
            problem = "invalid ciphertext: not standard base64 after the version";
            return null;
        }

        int inside;
        try
        {
            inside = EnvelopeReader.ReadVersion(envelope);
        }
        catch (RekeyException)
        {
            problem = "invalid ciphertext: not a Rekey envelope";
            return null;
        }

        if (inside != version)
        {
            problem = string.Create(CultureInfo.InvariantCulture, $"invalid ciphertext: it says version {version} but was made with version {inside}");
            return null;
        }

        return envelope;
    }
}
