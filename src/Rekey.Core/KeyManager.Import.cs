using System.Globalization;
using System.Security.Cryptography;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Root;
using Rekey.Storage;

namespace Rekey;

/// <summary>Bring your own key: one-time import tokens, and versions made from material imported with them.</summary>
public sealed partial class KeyManager
{
    /// <summary>How long an import token is good for unless told otherwise (as AWS KMS's import parameters).</summary>
    public static readonly TimeSpan DefaultImportTokenLifetime = TimeSpan.FromHours(24);

    /// <summary>The longest an import token may live.</summary>
    public static readonly TimeSpan MaxImportTokenLifetime = TimeSpan.FromDays(7);

    // An RSA-4096 OAEP ciphertext is exactly the modulus length; anything else was not made for the token.
    private const int WrappedLength = 512;

    /// <inheritdoc />
    public async Task<ImportParameters> CreateImportTokenAsync(KeyName name, TimeSpan? validFor = null, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        var lifetime = validFor ?? DefaultImportTokenLifetime;
        if (lifetime <= TimeSpan.Zero || lifetime > MaxImportTokenLifetime)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, $"An import token lives from a second to {DurationText.Format(MaxImportTokenLifetime)}, not {DurationText.Format(lifetime)}.");
        }

        var store = ImportTokens();
        _ = await _state.LoadAsync(name, cancellationToken).ConfigureAwait(false);
        var token = "imp_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        using var rsa = RSA.Create(4096);
        var privateKey = rsa.ExportPkcs8PrivateKey();
        byte[] wrapped;
        try
        {
            wrapped = await _state.Root.WrapAsync(privateKey, RootBindings.ForImportToken(token), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(privateKey);
        }

        var now = _state.Now();
        var expires = now + lifetime;
        var publicKey = rsa.ExportSubjectPublicKeyInfo();
        var details = string.Create(CultureInfo.InvariantCulture, $"import token {token}; {ImportParameters.RsaOaepSha256} with RSA-4096; expires {expires.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z");
        await store.AddImportTokenAsync(
            new StoredImportToken(token, name, publicKey, wrapped, _state.Root.KeyId, now, expires, null, null),
            _state.Audit(change, "key.import_token", name, null, null, "success", details),
            cancellationToken).ConfigureAwait(false);
        return new ImportParameters(name, token, PemEncoding.WriteString("PUBLIC KEY", publicKey), ImportParameters.RsaOaepSha256, expires);
    }

    /// <inheritdoc />
    public async Task<KeyVersionInfo> ImportAsync(KeyName name, string token, ReadOnlyMemory<byte> wrappedMaterial, bool activate = true, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        var stored = await ImportTokens().FindImportTokenAsync(token, cancellationToken).ConfigureAwait(false);
        var now = _state.Now();
        var problem = stored switch
        {
            null => $"There is no import token {Shorten(token)}; ask for one with 'rekey key import-token'.",
            { UsedAt: not null } => $"The import token {token} was spent already (by version {stored.UsedVersion}); a token imports once. Ask for a new one.",
            _ when stored.Key != name => $"The import token {token} is for key '{stored.Key}', not '{name}'.",
            _ when now >= stored.ExpiresAt || stored.WrappedPrivateKey is null => string.Create(CultureInfo.InvariantCulture, $"The import token {token} expired at {stored.ExpiresAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z; ask for a new one."),
            _ when wrappedMaterial.Length != WrappedLength => string.Create(CultureInfo.InvariantCulture, $"The material is {wrappedMaterial.Length} bytes; material wrapped for an import token is {WrappedLength} (RSA-4096 OAEP). It was sent unwrapped, or wrapped under another key."),
            _ => null,
        };
        if (problem is not null)
        {
            await _state.RefuseAsync(change, "key.import", name, null, null, RekeyErrorCode.ImportRefused, problem, cancellationToken).ConfigureAwait(false);
        }

        var material = await UnwrapImportedAsync(stored!, wrappedMaterial, cancellationToken).ConfigureAwait(false);
        try
        {
            if (material is null || material.Length != Crypto.AesKeyWrapPadded.KeySize)
            {
                var message = material is null
                    ? $"The material was not wrapped under the public key of import token {token} (RSA-OAEP with SHA-256 and MGF1-SHA-256, no label)."
                    : string.Create(CultureInfo.InvariantCulture, $"The imported material is {material.Length} bytes; a key version's material is {Crypto.AesKeyWrapPadded.KeySize} (AES-256).");
                await _state.RefuseAsync(change, "key.import", name, null, null, RekeyErrorCode.ImportRefused, message, cancellationToken).ConfigureAwait(false);
            }

            return await AddVersionAsync(name, new RotateOptions(Activate: activate), new ImportedMaterial(token, material!), change, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (material is not null)
            {
                CryptographicOperations.ZeroMemory(material);
            }
        }
    }

    // Null when the bytes were not wrapped for this token's key: OAEP's check says so, and nothing more.
    private async Task<byte[]?> UnwrapImportedAsync(StoredImportToken token, ReadOnlyMemory<byte> wrapped, CancellationToken cancellationToken)
    {
        var privateKey = await _state.Roots.Resolve(token.RootKeyId).UnwrapAsync(token.WrappedPrivateKey!, RootBindings.ForImportToken(token.Id), cancellationToken).ConfigureAwait(false);
        try
        {
            using var rsa = RSA.Create();
            rsa.ImportPkcs8PrivateKey(privateKey, out _);
            return rsa.Decrypt(wrapped.Span, RSAEncryptionPadding.OaepSHA256);
        }
        catch (CryptographicException)
        {
            return null;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(privateKey);
        }
    }

    private IImportTokenStore ImportTokens() =>
        _state.Store as IImportTokenStore ?? throw new RekeyException(RekeyErrorCode.InvalidRequest, "This store does not keep import tokens, so it cannot import key material.");

    // An unknown token is named back only in part: it is not a secret, but it is the caller's input.
    private static string Shorten(string token) => token.Length <= 40 ? token : token[..40] + "...";

    private sealed record ImportedMaterial(string Token, byte[] Material);
}
