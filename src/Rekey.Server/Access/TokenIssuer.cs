using Rekey.Access;
using Rekey.Audit;
using Rekey.Storage;

namespace Rekey.Server.Access;

/// <summary>Issues bearer tokens: the secret is returned once, only its hash is stored, and the issue is audited.</summary>
public static class TokenIssuer
{
    /// <summary>Issues a token and returns it with its secret.</summary>
    public static async Task<(AccessToken Token, string Secret)> IssueAsync(
        ITokenStore store,
        string name,
        IReadOnlySet<Role> roles,
        IReadOnlyList<KeyPattern> patterns,
        TimeSpan? timeToLive,
        ChangeContext change,
        TimeProvider time,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(change);
        ArgumentNullException.ThrowIfNull(time);
        TokenSecret.Issue(out var id, out var secret, out var hash);
        var now = AuditChain.TruncateToMilliseconds(time.GetUtcNow());
        var token = new AccessToken(id, name, roles, patterns, hash, now, now + timeToLive, null);
        var details = $"roles: {string.Join(',', roles.Order().Select(r => r.ToString()))}; patterns: {string.Join(',', patterns)}";
        var audit = new AuditRecord(now, change.Actor, "token.create", null, null, null, "success", ChangeContext.Describe(change, $"token {id} ({name}); {details}"));
        await store.CreateTokenAsync(token, audit, cancellationToken).ConfigureAwait(false);
        return (token, secret);
    }
}
