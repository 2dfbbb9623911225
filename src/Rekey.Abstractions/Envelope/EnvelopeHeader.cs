using Rekey.Keys;

namespace Rekey.Envelope;

/// <summary>What any envelope tells without a key: its format, algorithm, key and key version.</summary>
/// <param name="FormatVersion">The envelope format version (1).</param>
/// <param name="Algorithm">The algorithm suite.</param>
/// <param name="Key">The key that wrapped the data key.</param>
/// <param name="Version">The key version that wrapped the data key.</param>
/// <param name="DataLength">The plaintext length, in bytes.</param>
public sealed record EnvelopeHeader(int FormatVersion, EnvelopeAlgorithm Algorithm, KeyName Key, int Version, int DataLength);

/// <summary>The algorithm suites an envelope may name. Values are written into ciphertexts and never change.</summary>
public enum EnvelopeAlgorithm
{
    /// <summary>Data under AES-256-GCM with a fresh 256-bit data key; the data key wrapped with AES-256-KWP (RFC 5649).</summary>
    Aes256GcmKwp = 1,
}
