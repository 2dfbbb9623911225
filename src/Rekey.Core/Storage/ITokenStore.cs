using Rekey.Access;
using Rekey.Audit;

namespace Rekey.Storage;

/// <summary>
/// Where bearer tokens live: only their secret's hash, never the secret. Every change is one
/// transaction with its audit event, as for keys.
/// </summary>
public interface ITokenStore
{
    /// <summary>Stores a new token; <c>Conflict</c> when the id is taken.</summary>
    Task CreateTokenAsync(AccessToken token, AuditRecord audit, CancellationToken cancellationToken = default);

    /// <summary>Finds a token by id, revoked or not; null when there is none.</summary>
    Task<AccessToken?> FindTokenAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Every token, oldest first.</summary>
    Task<IReadOnlyList<AccessToken>> ListTokensAsync(CancellationToken cancellationToken = default);

    /// <summary>Revokes a token; <c>TokenNotFound</c> when there is none, <c>Conflict</c> when already revoked.</summary>
    Task RevokeTokenAsync(string id, DateTimeOffset revokedAt, AuditRecord audit, CancellationToken cancellationToken = default);
}
