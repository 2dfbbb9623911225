using System.Security.Cryptography;

namespace Rekey.Crypto;

/// <summary>
/// The authenticated encryption used for data: AES-GCM with a 96-bit nonce and a 128-bit tag,
/// nothing else. Other nonce and tag sizes are refused rather than handled, because GCM's
/// security analysis and our format both assume these sizes.
/// </summary>
internal static class DataCipher
{
    /// <summary>The nonce length in bytes (96 bits).</summary>
    public const int NonceSize = 12;

    /// <summary>The tag length in bytes (128 bits).</summary>
    public const int TagSize = 16;

    /// <summary>
    /// The AppContext switch that makes envelopes use the framework's <see cref="AesGcm"/> even
    /// where <see cref="AesGcmNi"/> could run (for comparison, or out of caution).
    /// </summary>
    public const string UseFrameworkSwitch = "Rekey.Crypto.UseFrameworkGcm";

    /// <summary>
    /// The most bytes (plaintext or ciphertext plus associated data) sealed on <see cref="AesGcmNi"/>.
    /// It wins where opening an OpenSSL context per key dominates (about 5x at 256 bytes, 1.3x at
    /// 4 KiB, in the envelope benchmark); the framework's wider GHASH wins on long messages, and
    /// the two cost about the same near 7 KiB, so longer ones go to the framework.
    /// </summary>
    public const int HardwareMaxBytes = 6 * 1024;

    // Read once: the switch is for the whole process.
    private static readonly bool Hardware = AesGcmNi.IsSupported && !(AppContext.TryGetSwitch(UseFrameworkSwitch, out var framework) && framework);

    /// <summary>Encrypts; throws <see cref="ArgumentException"/> for a key, nonce or buffer of the wrong size.</summary>
    public static void Encrypt(
        ReadOnlySpan<byte> key,
        ReadOnlySpan<byte> nonce,
        ReadOnlySpan<byte> plaintext,
        ReadOnlySpan<byte> associatedData,
        Span<byte> ciphertext,
        Span<byte> tag)
    {
        CheckSizes(key, nonce, tag);
        if (ciphertext.Length != plaintext.Length)
        {
            throw new ArgumentException("The ciphertext buffer must be as long as the plaintext.", nameof(ciphertext));
        }

        if (Hardware && key.Length == 32 && plaintext.Length + associatedData.Length <= HardwareMaxBytes)
        {
            AesGcmNi.Encrypt(key, nonce, plaintext, associatedData, ciphertext, tag);
            return;
        }

        using var gcm = new AesGcm(key, TagSize);
        gcm.Encrypt(nonce, plaintext, ciphertext, tag, associatedData);
    }

    /// <summary>
    /// Decrypts and authenticates. Returns false, with <paramref name="plaintext"/> zeroed, when the
    /// tag does not verify; throws <see cref="ArgumentException"/> for sizes it does not support.
    /// </summary>
    public static bool TryDecrypt(
        ReadOnlySpan<byte> key,
        ReadOnlySpan<byte> nonce,
        ReadOnlySpan<byte> ciphertext,
        ReadOnlySpan<byte> tag,
        ReadOnlySpan<byte> associatedData,
        Span<byte> plaintext)
    {
        CheckSizes(key, nonce, tag);
        if (plaintext.Length != ciphertext.Length)
        {
            throw new ArgumentException("The plaintext buffer must be as long as the ciphertext.", nameof(plaintext));
        }

        if (Hardware && key.Length == 32 && ciphertext.Length + associatedData.Length <= HardwareMaxBytes)
        {
            return AesGcmNi.TryDecrypt(key, nonce, ciphertext, tag, associatedData, plaintext);
        }

        using var gcm = new AesGcm(key, TagSize);
        try
        {
            gcm.Decrypt(nonce, ciphertext, tag, plaintext, associatedData);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            // The framework already zeroes the output on a mismatch; do it again so that holds
            // whatever the platform's implementation does.
            CryptographicOperations.ZeroMemory(plaintext);
            return false;
        }
    }

    private static void CheckSizes(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> tag)
    {
        if (key.Length is not (16 or 24 or 32))
        {
            throw new ArgumentException("AES-GCM keys are 128, 192 or 256 bits.", nameof(key));
        }

        if (nonce.Length != NonceSize)
        {
            throw new ArgumentException("Only 96-bit GCM nonces are supported.", nameof(nonce));
        }

        if (tag.Length != TagSize)
        {
            throw new ArgumentException("Only 128-bit GCM tags are supported.", nameof(tag));
        }
    }
}
