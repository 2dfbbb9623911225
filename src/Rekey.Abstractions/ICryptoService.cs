using Rekey.Envelope;
using Rekey.Keys;

namespace Rekey;

/// <summary>The data plane: encrypt, decrypt, re-wrap and make data keys with a mandatory context. Decrypt and re-wrap name the key the caller expects and refuse an envelope under another.</summary>
public interface ICryptoService
{
    /// <summary>Encrypts under the key's Active version; returns envelope bytes.</summary>
    ValueTask<byte[]> EncryptAsync(KeyName name, ReadOnlyMemory<byte> plaintext, EncryptionContext context, CancellationToken cancellationToken = default);

    /// <summary>
    /// Decrypts envelope bytes under <paramref name="key"/> with the
    /// context they were encrypted with. An envelope under another key is refused
    /// (<c>InvalidRequest</c>), so a ciphertext handed in from elsewhere cannot make this code
    /// decrypt with a key it did not mean to use.
    /// </summary>
    ValueTask<byte[]> DecryptAsync(KeyName key, ReadOnlyMemory<byte> envelope, EncryptionContext context, CancellationToken cancellationToken = default);

    /// <summary>Re-wraps an envelope's data key under <paramref name="key"/>'s Active version without decrypting the data; an envelope under another key is refused.</summary>
    ValueTask<byte[]> RewrapAsync(KeyName key, ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken = default);

    /// <summary>Makes a fresh data key, returned encrypted and (unless asked not to) in plaintext.</summary>
    ValueTask<DataKey> GenerateDataKeyAsync(KeyName name, EncryptionContext context, bool includePlaintext = true, int length = 32, CancellationToken cancellationToken = default);
}
