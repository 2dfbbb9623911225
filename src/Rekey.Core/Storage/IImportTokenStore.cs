using Rekey.Keys;

namespace Rekey.Storage;

/// <summary>An import token as stored: a one-time RSA key pair for bringing material into one key.</summary>
/// <param name="Id">The token, as the importer gives it back.</param>
/// <param name="Key">The key the import adds a version to.</param>
/// <param name="PublicKey">The RSA public key (SubjectPublicKeyInfo, DER).</param>
/// <param name="WrappedPrivateKey">The private key (PKCS#8) wrapped by the root; null once the token is spent or expired.</param>
/// <param name="RootKeyId">The root that wrapped it.</param>
/// <param name="CreatedAt">When it was made.</param>
/// <param name="ExpiresAt">When it stops being usable.</param>
/// <param name="UsedAt">When it was spent, if it was.</param>
/// <param name="UsedVersion">The version the import made, if it was spent.</param>
public sealed record StoredImportToken(string Id, KeyName Key, byte[] PublicKey, byte[]? WrappedPrivateKey, string RootKeyId, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? UsedAt, int? UsedVersion);

/// <summary>Where import tokens are kept. A token is spent by the <see cref="KeyChange"/> that imports with it.</summary>
public interface IImportTokenStore
{
    /// <summary>Stores a new token with its audit event, and erases the private keys of tokens that expired unspent.</summary>
    Task AddImportTokenAsync(StoredImportToken token, Audit.AuditRecord audit, CancellationToken cancellationToken = default);

    /// <summary>The token with this id, or null.</summary>
    Task<StoredImportToken?> FindImportTokenAsync(string id, CancellationToken cancellationToken = default);
}
