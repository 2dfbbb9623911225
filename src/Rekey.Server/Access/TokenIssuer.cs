using Rekey.Access;
using Rekey.Api;
using Rekey.Audit;
using Rekey.Errors;
using Rekey.Storage;

namespace Rekey.Server.Access;

/// <summary>
/// Issues and revokes bearer tokens, for the API and the CLI alike: the secret is returned once,
/// only its hash is stored, and both are audited.
/// </summary>
public static class TokenIssuer
{
    private const int MaxNameLength = 200;
    private const long MaxTtlSeconds = 100L * 365 * 24 * 3600;

    /// <summary>Checks a request (name, roles, patterns, time to live; <c>InvalidRequest</c> naming the first bad field) and issues the token.</summary>
    public static Task<(AccessToken Token, string Secret)> IssueAsync(ITokenStore store, TokenCreateRequest request, ChangeContext change, TimeProvider time, CancellationToken cancellationToken = default) =>
        IssueAsync(store, request, change, time, null, cancellationToken);

    /// <summary>
    /// As <see cref="IssueAsync(ITokenStore, TokenCreateRequest, ChangeContext, TimeProvider, CancellationToken)"/>,
    /// holding tokens with the admin or approver role for approval when <paramref name="approvals"/>'s rules say so.
    /// </summary>
    public static Task<(AccessToken Token, string Secret)> IssueAsync(ITokenStore store, TokenCreateRequest request, ChangeContext change, TimeProvider time, IApprovalGate? approvals, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var name = request.Name?.Trim() ?? throw Invalid("'name' is required.");
        if (name.Length is 0 or > MaxNameLength)
        {
            throw Invalid($"'name' must be 1 to {MaxNameLength} characters.");
        }

        if (request.Roles is not { Count: > 0 } roleNames)
        {
            throw Invalid("'roles' must name at least one of admin, key-officer, operator, application, auditor, approver.");
        }

        var roles = roleNames
            .Select(r => RoleNames.TryParse(r, out var role) ? role.Value : throw Invalid($"'{r}' is not a role; use admin, key-officer, operator, application, auditor or approver."))
            .ToHashSet();

        if (request.KeyPatterns is not { Count: > 0 } patternTexts)
        {
            throw Invalid("'key_patterns' must hold at least one pattern: a key name, 'prefix/*' or '*'.");
        }

        var patterns = patternTexts
            .Select(p => KeyPattern.TryParse(p, out var pattern) ? pattern : throw Invalid($"'{p}' is not a key pattern: a key name, 'prefix/*' or '*'."))
            .ToList();

        TimeSpan? ttl = request.TtlSeconds switch
        {
            null => null,
            > 0 and <= MaxTtlSeconds => TimeSpan.FromSeconds(request.TtlSeconds.Value),
            _ => throw Invalid($"'ttl_seconds' must be from 1 to {MaxTtlSeconds}; leave it out for a token that does not expire."),
        };
        return IssueAsync(store, name, roles, patterns, ttl, change, time, cancellationToken, approvals);
    }

    /// <summary>The operation approvers approve when a token with the admin or approver role is asked for.</summary>
    public static Approvals.ApprovalRequest ApprovalRequestFor(string name, IReadOnlySet<Role> roles, IReadOnlyList<KeyPattern> patterns, TimeSpan? timeToLive)
    {
        ArgumentNullException.ThrowIfNull(roles);
        ArgumentNullException.ThrowIfNull(patterns);
        var request = Approvals.ApprovalRequest.For(Approvals.ApprovalOperations.AdminToken, null)
            .With("name", name)
            .With("roles", string.Join(',', roles.Select(RoleNames.Of).Order(StringComparer.Ordinal)))
            .With("key_patterns", string.Join(',', patterns.Select(p => p.Value).Order(StringComparer.Ordinal)));
        return timeToLive is { } ttl ? request.With("ttl_seconds", ((long)ttl.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture)) : request;
    }

    /// <summary>Issues a token and returns it with its secret.</summary>
    public static async Task<(AccessToken Token, string Secret)> IssueAsync(
        ITokenStore store,
        string name,
        IReadOnlySet<Role> roles,
        IReadOnlyList<KeyPattern> patterns,
        TimeSpan? timeToLive,
        ChangeContext change,
        TimeProvider time,
        CancellationToken cancellationToken = default,
        IApprovalGate? approvals = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(change);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(roles);
        if (approvals is not null && (roles.Contains(Role.Admin) || roles.Contains(Role.Approver)))
        {
            await approvals.CheckAsync(ApprovalRequestFor(name, roles, patterns, timeToLive), change, cancellationToken).ConfigureAwait(false);
        }

        TokenSecret.Issue(out var id, out var secret, out var hash);
        var now = AuditChain.TruncateToMilliseconds(time.GetUtcNow());
        var token = new AccessToken(id, name, roles, patterns, hash, now, now + timeToLive, null);
        var details = $"roles: {string.Join(',', roles.Order().Select(r => r.ToString()))}; patterns: {string.Join(',', patterns)}";
        var audit = ChangeContext.Stamp(change, new AuditRecord(now, change.Actor, "token.create", null, null, null, "success", $"token {id} ({name}); {details}"));
        await store.CreateTokenAsync(token, audit, cancellationToken).ConfigureAwait(false);
        return (token, secret);
    }

    /// <summary>Revokes a token by id, audited; <c>TokenNotFound</c> or <c>Conflict</c> (already revoked) from the store.</summary>
    public static Task RevokeAsync(ITokenStore store, string id, ChangeContext change, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(change);
        ArgumentNullException.ThrowIfNull(time);
        var now = AuditChain.TruncateToMilliseconds(time.GetUtcNow());
        var audit = ChangeContext.Stamp(change, new AuditRecord(now, change.Actor, "token.revoke", null, null, null, "success", "token " + id));
        return store.RevokeTokenAsync(id, now, audit, cancellationToken);
    }

    private static RekeyException Invalid(string message) => new(RekeyErrorCode.InvalidRequest, message);
}
