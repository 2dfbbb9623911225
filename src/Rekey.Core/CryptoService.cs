using System.Security.Cryptography;
using Rekey.Crypto;
using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Root;
using Rekey.Storage;

namespace Rekey;

/// <summary>
/// The data plane: encrypts with a fresh data key under a key's Active version, decrypts and
/// re-wraps envelopes under the key the caller names, and makes data keys; KEKs come from the
/// version cache, unwrapped by the root once per version.
/// </summary>
public sealed class CryptoService : ICryptoService
{
    private readonly ServiceState _state;
    private readonly KeyManager _keys;

    internal CryptoService(ServiceState state, KeyManager keys)
    {
        _state = state;
        _keys = keys;
    }

    /// <summary>
    /// Makes a fresh random data key of <paramref name="length"/> bytes and returns it encrypted
    /// under the key's Active version with <paramref name="context"/>, and in plaintext unless
    /// <paramref name="includePlaintext"/> is false. The caller zeroes the plaintext after use.
    /// </summary>
    public async ValueTask<DataKey> GenerateDataKeyAsync(KeyName name, EncryptionContext context, bool includePlaintext = true, int length = 32, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 16);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, 64);
        var plaintext = RandomNumberGenerator.GetBytes(length);
        byte[] envelope;
        try
        {
            envelope = await EncryptAsync(name, plaintext, context, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            CryptographicOperations.ZeroMemory(plaintext);
            throw;
        }

        if (includePlaintext)
        {
            return new DataKey(plaintext, envelope);
        }

        CryptographicOperations.ZeroMemory(plaintext);
        return new DataKey(null, envelope);
    }

    /// <summary>Encrypts under the key's Active version with a fresh data key. Returns envelope bytes (see <see cref="EnvelopeText"/> for text).</summary>
    public async ValueTask<byte[]> EncryptAsync(KeyName name, ReadOnlyMemory<byte> plaintext, EncryptionContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var cached = await _state.Cache.GetAsync(name, cancellationToken).ConfigureAwait(false) ?? throw ServiceState.KeyNotFound(name);
        var active = cached.Active ?? throw new RekeyException(RekeyErrorCode.KeyInactive, $"Key '{name}' has no Active version.");
        var kek = await KekAsync(active, cancellationToken).ConfigureAwait(false);
        try
        {
            var envelope = EnvelopeCipher.Encrypt(kek, cached.NameBytes, active.Stored.Info.Version, plaintext.Span, context);
            active.CountEncrypt();
            return envelope;
        }
        catch (KeyMaterialErasedException)
        {
            throw ServiceState.Destroyed(name, active.Stored.Info.Version);
        }
    }

    /// <summary>
    /// Decrypts envelope bytes (<see cref="EnvelopeText.Decode"/> turns the text form into them)
    /// under <paramref name="key"/> with the context they were encrypted with; the version comes
    /// from the envelope. The caller names the key it means to use, so nobody can be handed
    /// another key's ciphertext and decrypt it unawares: an envelope under another key is
    /// <c>InvalidRequest</c>. Key-state refusals name the state; every other failure is the one
    /// <c>DecryptionFailed</c>.
    /// </summary>
    public async ValueTask<byte[]> DecryptAsync(KeyName key, ReadOnlyMemory<byte> envelope, EncryptionContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var version = EnvelopeReader.EnsureUnder(envelope.Span, key);
        var (cached, entry) = await UsableForDecryptAsync(key, version, cancellationToken).ConfigureAwait(false);
        var kek = await KekAsync(entry, cancellationToken).ConfigureAwait(false);
        try
        {
            var plaintext = EnvelopeCipher.Decrypt(kek, Layout(envelope.Span), context);
            entry.CountDecrypt();
            return plaintext;
        }
        catch (KeyMaterialErasedException)
        {
            throw ServiceState.Destroyed(cached.Key.Name, version);
        }
    }

    /// <summary>
    /// Re-wraps an envelope's data key under <paramref name="key"/>'s Active version without
    /// decrypting the data: only the version and wrapped key change. An envelope already under the
    /// Active version is returned unchanged; one under another key is <c>InvalidRequest</c>.
    /// </summary>
    public async ValueTask<byte[]> RewrapAsync(KeyName key, ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken = default)
    {
        var version = EnvelopeReader.EnsureUnder(envelope.Span, key);
        var (cached, source) = await UsableForDecryptAsync(key, version, cancellationToken).ConfigureAwait(false);
        var target = cached.Active ?? throw new RekeyException(RekeyErrorCode.KeyInactive, $"Key '{key}' has no Active version.");
        if (target.Stored.Info.Version == version)
        {
            // Already current, if the version field is true: a field edited to claim the Active
            // version would otherwise come back as a success that never decrypts.
            try
            {
                EnvelopeCipher.EnsureWrappedKeyUnwraps(await KekAsync(target, cancellationToken).ConfigureAwait(false), Layout(envelope.Span));
            }
            catch (KeyMaterialErasedException)
            {
                throw ServiceState.Destroyed(key, version);
            }

            return envelope.ToArray();
        }

        var from = await KekAsync(source, cancellationToken).ConfigureAwait(false);
        var to = await KekAsync(target, cancellationToken).ConfigureAwait(false);
        try
        {
            var result = EnvelopeCipher.Rewrap(from, to, Layout(envelope.Span), target.Stored.Info.Version);
            source.CountDecrypt();
            target.CountEncrypt();
            return result;
        }
        catch (KeyMaterialErasedException)
        {
            throw ServiceState.Destroyed(key, version);
        }
    }

    // The envelope was fully validated by EnsureUnder before the await; only the spans are needed again.
    private static EnvelopeLayout Layout(ReadOnlySpan<byte> envelope) =>
        EnvelopeLayout.TryParse(envelope, out var layout) ? layout : throw RekeyException.DecryptionFailed();

    private async ValueTask<(CachedKey Key, CachedVersion Version)> UsableForDecryptAsync(KeyName name, int version, CancellationToken cancellationToken)
    {
        // An unknown key or version in a ciphertext is the one decryption error, not KeyNotFound:
        // otherwise decrypt would tell a caller which key names exist.
        var cached = await _state.Cache.GetAsync(name, cancellationToken).ConfigureAwait(false) ?? throw RekeyException.DecryptionFailed();
        if (!cached.Versions.TryGetValue(version, out var entry))
        {
            // The version may be newer than our snapshot (rotated elsewhere); read once more.
            cached = await _state.Cache.ReloadAsync(name, cancellationToken).ConfigureAwait(false) ?? throw RekeyException.DecryptionFailed();
            if (!cached.Versions.TryGetValue(version, out entry))
            {
                throw RekeyException.DecryptionFailed();
            }
        }

        KeyLifecycle.EnsureCanDecrypt(name, version, entry.Stored.Info.State, cached.Key.MinDecryptionVersion);
        if (entry.Stored.Info is { State: KeyVersionState.Retiring, RetireDeadline: { } deadline } && _state.Time.GetUtcNow() >= deadline)
        {
            // The grace period is over: the version stops decrypting now, whether or not the
            // background sweep has moved it yet.
            await _keys.ExpireRetiredAsync(name, version, cancellationToken).ConfigureAwait(false);
            throw new RekeyException(RekeyErrorCode.KeyDisabled, $"Key '{name}' version {version} passed its retire deadline {deadline:O} and is Disabled.");
        }

        return (cached, entry);
    }

    private async ValueTask<Crypto.AesKeyWrapPadded> KekAsync(CachedVersion version, CancellationToken cancellationToken)
    {
        try
        {
            return await _state.Cache.GetKekAsync(version, cancellationToken).ConfigureAwait(false);
        }
        catch (KeyMaterialErasedException)
        {
            throw ServiceState.Destroyed(version.Stored.Info.Key, version.Stored.Info.Version);
        }
    }
}
