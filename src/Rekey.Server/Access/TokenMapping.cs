using Rekey.Access;
using Rekey.Api;

namespace Rekey.Server.Access;

/// <summary>Stored tokens as the API shows them. Tokens are the server's (and the local CLI's) business, so this mapping lives here, not in the wire assembly clients use.</summary>
public static class TokenMapping
{
    /// <summary>A token for the wire: never its hash.</summary>
    public static TokenResource ToResource(AccessToken token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return new TokenResource(token.Id, token.Name, token.Roles.Order().Select(RoleNames.Of).ToList(), token.Patterns.Select(p => p.Value).ToList(), token.CreatedAt, token.ExpiresAt, token.RevokedAt);
    }
}
