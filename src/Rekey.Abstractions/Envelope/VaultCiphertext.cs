using System.Globalization;
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

        var payload = rest[(colon + 1)..];
        var bytes = new byte[payload.Length / 4 * 3];
        if (!Convert.TryFromBase64Chars(payload, bytes, out var written))
        {
            problem = "invalid ciphertext: not standard base64 after the version";
            return null;
        }

        var envelope = bytes.AsSpan(0, written).ToArray();
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
