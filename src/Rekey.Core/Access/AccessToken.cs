namespace Rekey.Access;

/// <summary>
/// A bearer token as stored: who it is for, what it may do, and the hash of its secret (never the
/// secret itself). The secret is shown once, when the token is issued (see <see cref="TokenSecret"/>).
/// </summary>
/// <param name="Id">The public identifier, recorded as the actor in audit events.</param>
/// <param name="Name">A label chosen by whoever issued it.</param>
/// <param name="Roles">What it may do.</param>
/// <param name="Patterns">Which keys it may touch.</param>
/// <param name="SecretHash">SHA-256 of the secret, domain-separated (see <see cref="TokenSecret.Hash"/>).</param>
/// <param name="CreatedAt">When it was issued.</param>
/// <param name="ExpiresAt">When it stops working, if ever.</param>
/// <param name="RevokedAt">When it was revoked, if it was.</param>
public sealed record AccessToken(
    string Id,
    string Name,
    IReadOnlySet<Role> Roles,
    IReadOnlyList<KeyPattern> Patterns,
    byte[] SecretHash,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt)
{
    /// <summary>True when the token may be used at <paramref name="now"/>: not revoked, not expired.</summary>
    public bool IsUsableAt(DateTimeOffset now) => RevokedAt is null && (ExpiresAt is null || now < ExpiresAt);

    /// <summary>True when the token may touch this key.</summary>
    public bool Covers(Keys.KeyName key) => Patterns.Any(p => p.Matches(key));

    /// <summary>Never prints the hash.</summary>
    public override string ToString() => $"AccessToken {Id} ({Name})";
}
