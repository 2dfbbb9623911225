using System.Text;
using Rekey.Errors;
using Rekey.Keys;

namespace Rekey.Envelope;

/// <summary>Reads an envelope's header without any key: which key and version protect it.</summary>
public static class EnvelopeReader
{
    /// <summary>
    /// Reads the header of envelope bytes; a malformed envelope is
    /// <see cref="RekeyErrorCode.DecryptionFailed"/>, the same error decryption gives.
    /// </summary>
    public static EnvelopeHeader ReadHeader(ReadOnlySpan<byte> envelope)
    {
        var layout = Parse(envelope, out var key);
        return new EnvelopeHeader(EnvelopeLayout.FormatVersion, EnvelopeAlgorithm.Aes256GcmKwp, key, layout.Version, layout.Ciphertext.Length);
    }

    /// <summary>The key version of envelope bytes, without building the header; <c>DecryptionFailed</c> when malformed.</summary>
    public static int ReadVersion(ReadOnlySpan<byte> envelope) =>
        EnvelopeLayout.TryParse(envelope, out var layout) ? layout.Version : throw RekeyException.DecryptionFailed();

    /// <summary>
    /// Whether envelope bytes are under <paramref name="key"/>, and their version, without
    /// allocating (for loops over many envelopes); <c>DecryptionFailed</c> when malformed. Read the
    /// header only when the other key's name is needed.
    /// </summary>
    public static bool IsUnder(ReadOnlySpan<byte> envelope, KeyName key, out int version)
    {
        if (!EnvelopeLayout.TryParse(envelope, out var layout))
        {
            throw RekeyException.DecryptionFailed();
        }

        version = layout.Version;
        var name = layout.KeyNameBytes;
        var expected = key.Value;
        if (name.Length != expected.Length)
        {
            return false;
        }

        // Key names are ASCII, so each byte is one character.
        for (var i = 0; i < name.Length; i++)
        {
            if (name[i] != expected[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The version of envelope bytes that must be under <paramref name="key"/>, without allocating
    /// when they are. Under another key is <see cref="RekeyErrorCode.InvalidRequest"/> naming it (the
    /// envelope carries its key's name in the clear, so this tells nothing new); malformed is
    /// <see cref="RekeyErrorCode.DecryptionFailed"/>.
    /// </summary>
    public static int EnsureUnder(ReadOnlySpan<byte> envelope, KeyName key)
    {
        if (IsUnder(envelope, key, out var version))
        {
            return version;
        }

        // Reading the other key's name fails with the one decryption error when it is malformed.
        throw new RekeyException(RekeyErrorCode.InvalidRequest, $"The ciphertext is under key '{ReadHeader(envelope).Key}', not '{key}'.");
    }

    /// <summary>Reads the header of an envelope's text form (<c>rekey:v…</c>).</summary>
    public static EnvelopeHeader ReadHeader(string text) => ReadHeader(EnvelopeText.Decode(text));

    internal static EnvelopeLayout Parse(ReadOnlySpan<byte> envelope, out KeyName key)
    {
        if (!EnvelopeLayout.TryParse(envelope, out var layout)
            || !KeyName.TryParse(Encoding.ASCII.GetString(layout.KeyNameBytes), out key))
        {
            throw RekeyException.DecryptionFailed();
        }

        return layout;
    }
}
