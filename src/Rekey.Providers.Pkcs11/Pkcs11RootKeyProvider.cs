using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using Rekey.Errors;
using Rekey.Root;

namespace Rekey.Providers.Pkcs11;

/// <summary>
/// A root key in a PKCS#11 token (an HSM, or SoftHSM2): a non-extractable, sensitive AES-256 key
/// found by its label. KEK material is sealed inside the token with AES-GCM
/// (<c>CKM_AES_GCM</c>, a random 96-bit IV, a 128-bit tag) with the format byte and the binding
/// (key name and version) as associated data, so material moved to another slot, altered, or
/// sealed by another key is refused by the token itself. Sessions are pooled: each call borrows
/// one, so calls run concurrently.
/// </summary>
/// <remarks>
/// Stored form: <c>0x01 || IV (12) || ciphertext || tag (16)</c>. Token errors map to the
/// provider's split: a device, session or login problem is <see cref="RekeyErrorCode.RootKeyUnavailable"/>
/// (transient); a failed GCM check or malformed material is <see cref="RekeyErrorCode.RootKeyRefused"/>.
/// </remarks>
public sealed class Pkcs11RootKeyProvider : IRootKeyProvider
{
    private const byte Format = 1;
    private const int IvLength = 12;
    private const int TagBits = 128;

    private static readonly CKR[] Refusals = [CKR.CKR_ENCRYPTED_DATA_INVALID, CKR.CKR_ENCRYPTED_DATA_LEN_RANGE, CKR.CKR_DATA_INVALID, CKR.CKR_DATA_LEN_RANGE, (CKR)0x35 /* CKR_AEAD_DECRYPT_FAILED (PKCS#11 3.0) */];

    private readonly Pkcs11InteropFactories _factories = new();
    private readonly string _libraryPath;
    private readonly ISlot _slot;
    private readonly IObjectHandle _key;
    private readonly ConcurrentBag<ISession> _sessions = [];
    private readonly string _token;
    private int _disposed;

    private Pkcs11RootKeyProvider(string libraryPath, ISlot slot, ISession first, IObjectHandle key, string token, string keyId)
    {
        _libraryPath = libraryPath;
        _slot = slot;
        _key = key;
        _token = token;
        KeyId = keyId;
        _sessions.Add(first);
    }

    /// <inheritdoc />
    public string KeyId { get; }

    /// <summary>
    /// Loads the module, finds the token, logs in and finds the key. <c>RootKeyUnavailable</c>
    /// naming what is wrong: the module cannot be loaded, no such token, the PIN refused, no such key.
    /// </summary>
    public static Pkcs11RootKeyProvider Open(Pkcs11RootOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (slot, session) = Connect(options);
        try
        {
            var keys = session.FindAllObjects([
                Attribute(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY),
                Attribute(CKA.CKA_KEY_TYPE, CKK.CKK_AES),
                Attribute(CKA.CKA_LABEL, options.KeyLabel),
            ]);
            if (keys.Count != 1)
            {
                throw new RekeyException(
                    RekeyErrorCode.RootKeyUnavailable,
                    keys.Count == 0
                        ? $"The PKCS#11 token '{options.Token}' has no AES key labelled '{options.KeyLabel}'."
                        : $"The PKCS#11 token '{options.Token}' has {keys.Count} AES keys labelled '{options.KeyLabel}'; the root must be exactly one.");
            }

            var id = session.GetAttributeValue(keys[0], [CKA.CKA_ID])[0].GetValueAsByteArray() ?? [];
            var serial = slot.GetTokenInfo().SerialNumber.Trim();
            var fingerprint = SHA256.HashData(Encoding.UTF8.GetBytes($"{serial}\0{options.KeyLabel}\0{Convert.ToHexString(id)}"));
            return new Pkcs11RootKeyProvider(options.Library, slot, session, keys[0], options.Token, "pkcs11:" + Convert.ToHexStringLower(fingerprint[..8]));
        }
        catch
        {
            session.Dispose();
            Pkcs11Modules.Release(options.Library);
            throw;
        }
    }

    /// <summary>
    /// Creates the root key in the token: AES-256, generated inside it, sensitive, never
    /// extractable, for encrypt and decrypt only, with a random <c>CKA_ID</c>. Refused when a key
    /// with the label exists.
    /// </summary>
    public static void CreateKey(Pkcs11RootOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (_, session) = Connect(options);
        try
        {
            if (session.FindAllObjects([Attribute(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY), Attribute(CKA.CKA_LABEL, options.KeyLabel)]).Count > 0)
            {
                throw new RekeyException(RekeyErrorCode.KeyExists, $"The PKCS#11 token '{options.Token}' already has a key labelled '{options.KeyLabel}'.");
            }

            var factories = new Pkcs11InteropFactories();
            session.GenerateKey(
                factories.MechanismFactory.Create(CKM.CKM_AES_KEY_GEN),
                [
                    Attribute(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY),
                    Attribute(CKA.CKA_KEY_TYPE, CKK.CKK_AES),
                    Attribute(CKA.CKA_VALUE_LEN, 32UL),
                    Attribute(CKA.CKA_LABEL, options.KeyLabel),
                    Attribute(CKA.CKA_ID, RandomNumberGenerator.GetBytes(16)),
                    Attribute(CKA.CKA_TOKEN, true),
                    Attribute(CKA.CKA_PRIVATE, true),
                    Attribute(CKA.CKA_SENSITIVE, true),
                    Attribute(CKA.CKA_EXTRACTABLE, false),
                    Attribute(CKA.CKA_ENCRYPT, true),
                    Attribute(CKA.CKA_DECRYPT, true),
                    Attribute(CKA.CKA_WRAP, false),
                    Attribute(CKA.CKA_UNWRAP, false),
                ]);
        }
        finally
        {
            session.Dispose();
            Pkcs11Modules.Release(options.Library);
        }
    }

    /// <inheritdoc />
    public ValueTask<byte[]> WrapAsync(ReadOnlyMemory<byte> material, ReadOnlyMemory<byte> binding, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var iv = RandomNumberGenerator.GetBytes(IvLength);
        var plain = material.ToArray();
        try
        {
            var sealedBytes = Use(session => session.Encrypt(Gcm(iv, binding.Span), _key, plain), "wrap");
            var wrapped = new byte[1 + IvLength + sealedBytes.Length];
            wrapped[0] = Format;
            iv.CopyTo(wrapped, 1);
            sealedBytes.CopyTo(wrapped, 1 + IvLength);
            return ValueTask.FromResult(wrapped);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    /// <inheritdoc />
    public ValueTask<byte[]> UnwrapAsync(ReadOnlyMemory<byte> wrapped, ReadOnlyMemory<byte> binding, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var span = wrapped.Span;
        if (span.Length < 1 + IvLength + (TagBits / 8) + 1 || span[0] != Format)
        {
            throw new RekeyException(RekeyErrorCode.RootKeyRefused, "The wrapped material is not in the PKCS#11 root's format.");
        }

        var iv = span.Slice(1, IvLength).ToArray();
        var sealedBytes = span[(1 + IvLength)..].ToArray();
        return ValueTask.FromResult(Use(session => session.Decrypt(Gcm(iv, binding.Span), _key, sealedBytes), "unwrap"));
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            while (_sessions.TryTake(out var session))
            {
                session.Dispose();
            }

            Pkcs11Modules.Release(_libraryPath);
        }

        return ValueTask.CompletedTask;
    }

    private static (ISlot Slot, ISession Session) Connect(Pkcs11RootOptions options)
    {
        IPkcs11Library library;
        try
        {
            library = Pkcs11Modules.Acquire(options.Library);
        }
        catch (Exception e) when (e is not RekeyException)
        {
            throw new RekeyException(RekeyErrorCode.RootKeyUnavailable, $"The PKCS#11 library '{options.Library}' cannot be loaded: {e.GetType().Name}.");
        }

        try
        {
            var slot = library.GetSlotList(SlotsType.WithTokenPresent).FirstOrDefault(s => s.GetTokenInfo().Label.Trim() == options.Token)
                ?? throw new RekeyException(RekeyErrorCode.RootKeyUnavailable, $"No PKCS#11 token is labelled '{options.Token}' in '{options.Library}'.");
            var session = slot.OpenSession(SessionType.ReadWrite);
            try
            {
                session.Login(CKU.CKU_USER, options.Pin);
            }
            catch (Pkcs11Exception e) when (e.RV == CKR.CKR_USER_ALREADY_LOGGED_IN)
            {
                // Another root in this process logged in to the token already.
            }
            catch (Pkcs11Exception e)
            {
                session.Dispose();
                throw new RekeyException(
                    RekeyErrorCode.RootKeyUnavailable,
                    e.RV is CKR.CKR_PIN_INCORRECT or CKR.CKR_PIN_INVALID or CKR.CKR_PIN_LEN_RANGE
                        ? $"The PKCS#11 token '{options.Token}' refused the PIN ({e.RV})."
                        : $"Logging in to the PKCS#11 token '{options.Token}' failed ({e.RV}).");
            }

            return (slot, session);
        }
        catch (Exception e)
        {
            Pkcs11Modules.Release(options.Library);
            throw e is RekeyException ? e : new RekeyException(RekeyErrorCode.RootKeyUnavailable, $"The PKCS#11 token '{options.Token}' cannot be used: {(e is Pkcs11Exception p ? p.RV.ToString() : e.GetType().Name)}.");
        }
    }

    /// <summary>Runs one call on a pooled session, mapping the token's errors; a broken session is dropped and the call tried once on a new one.</summary>
    private byte[] Use(Func<ISession, byte[]> call, string what)
    {
        ObjectDisposedException.ThrowIf(_disposed == 1, this);
        for (var attempt = 1; ; attempt++)
        {
            var session = Rent();
            try
            {
                var result = call(session);
                _sessions.Add(session);
                return result;
            }
            catch (Pkcs11Exception e) when (what == "unwrap" && (Refusals.Contains(e.RV) || (e.RV is CKR.CKR_GENERAL_ERROR or CKR.CKR_FUNCTION_FAILED && Healthy(session))))
            {
                // Some tokens (SoftHSM2 among them) report a failed GCM check as a general error;
                // the token then passed a fresh round trip, so the material is what it refused.
                _sessions.Add(session);
                throw new RekeyException(RekeyErrorCode.RootKeyRefused, "The PKCS#11 root key refused the wrapped material (another root's, another slot's, or altered).");
            }
            catch (Pkcs11Exception e) when (e.RV is CKR.CKR_SESSION_HANDLE_INVALID or CKR.CKR_SESSION_CLOSED or CKR.CKR_USER_NOT_LOGGED_IN && attempt == 1)
            {
                session.Dispose();
            }
            catch (Pkcs11Exception e)
            {
                session.Dispose();
                throw new RekeyException(RekeyErrorCode.RootKeyUnavailable, $"The PKCS#11 token '{_token}' could not {what} ({e.RV}); try again.");
            }
        }
    }

    /// <summary>True when the token seals and opens a fresh random value on <paramref name="session"/>: it works, whatever failed before.</summary>
    private bool Healthy(ISession session)
    {
        var probe = RandomNumberGenerator.GetBytes(32);
        var iv = RandomNumberGenerator.GetBytes(IvLength);
        try
        {
            var sealedProbe = session.Encrypt(Gcm(iv, "rekey/pkcs11/probe"u8), _key, probe);
            return session.Decrypt(Gcm(iv, "rekey/pkcs11/probe"u8), _key, sealedProbe).AsSpan().SequenceEqual(probe);
        }
        catch (Pkcs11Exception)
        {
            return false;
        }
    }

    private ISession Rent()
    {
        if (_sessions.TryTake(out var session))
        {
            return session;
        }

        try
        {
            // Sessions share the application's login to the token.
            return _slot.OpenSession(SessionType.ReadOnly);
        }
        catch (Pkcs11Exception e)
        {
            throw new RekeyException(RekeyErrorCode.RootKeyUnavailable, $"The PKCS#11 token '{_token}' cannot open a session ({e.RV}); try again.");
        }
    }

    private IMechanism Gcm(byte[] iv, ReadOnlySpan<byte> binding)
    {
        var aad = new byte[1 + binding.Length];
        aad[0] = Format;
        binding.CopyTo(aad.AsSpan(1));
        return _factories.MechanismFactory.Create(CKM.CKM_AES_GCM, _factories.MechanismParamsFactory.CreateCkGcmParams(iv, IvLength * 8, aad, TagBits));
    }

    private static IObjectAttribute Attribute(CKA type, object value)
    {
        var factory = new Pkcs11InteropFactories().ObjectAttributeFactory;
        return value switch
        {
            CKO o => factory.Create(type, o),
            CKK k => factory.Create(type, k),
            string s => factory.Create(type, s),
            bool b => factory.Create(type, b),
            ulong u => factory.Create(type, u),
            byte[] bytes => factory.Create(type, bytes),
            _ => throw new ArgumentException("Unsupported attribute value.", nameof(value)),
        };
    }
}
