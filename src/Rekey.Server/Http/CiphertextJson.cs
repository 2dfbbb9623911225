using System.Buffers;
using System.Text.Json;
using Rekey.Envelope;

namespace Rekey.Server.Http;

/// <summary>
/// Writes an envelope's text form into a JSON answer straight from its bytes (no string in
/// between): Rekey's spelling for <c>/v1</c>, Vault's for the Transit surface.
/// </summary>
internal static class CiphertextJson
{
    private const int StackLimit = 1024;

    /// <summary>Writes <paramref name="property"/> with the envelope in Rekey's spelling (<c>rekey:v…</c>).</summary>
    public static void WriteRekey(Utf8JsonWriter json, ReadOnlySpan<byte> property, ReadOnlySpan<byte> envelope) =>
        Write(json, property, envelope, EnvelopeText.GetUtf8Length(envelope), vault: false);

    /// <summary>Writes <paramref name="property"/> with the envelope in Vault's spelling (<c>vault:v…</c>).</summary>
    public static void WriteVault(Utf8JsonWriter json, ReadOnlySpan<byte> property, ReadOnlySpan<byte> envelope) =>
        Write(json, property, envelope, VaultCiphertext.GetUtf8Length(envelope), vault: true);

    private static void Write(Utf8JsonWriter json, ReadOnlySpan<byte> property, ReadOnlySpan<byte> envelope, int length, bool vault)
    {
        var rented = length > StackLimit ? ArrayPool<byte>.Shared.Rent(length) : null;
        Span<byte> text = rented ?? stackalloc byte[StackLimit];
        try
        {
            var written = vault ? VaultCiphertext.EncodeToUtf8(envelope, text) : EnvelopeText.EncodeToUtf8(envelope, text);
            json.WriteString(property, text[..written]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
