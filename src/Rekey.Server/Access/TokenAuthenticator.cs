using System.Collections.Concurrent;
using Rekey.Access;
using Rekey.Storage;

namespace Rekey.Server.Access;

/// <summary>
/// Checks bearer tokens: the presented secret's hash against the stored hash, in constant time,
/// then expiry and revocation. Stored tokens are cached for a short time so that a busy data
/// plane does not read the store on every request; a revocation through this server takes effect
/// at once, one through another instance within the cache's lifetime.
/// </summary>
internal sealed class TokenAuthenticator(ITokenStore store, TimeProvider time, TimeSpan cacheTtl)
{
    // Bounded so that a flood of made-up token ids cannot grow memory without limit.
    private const int MaxCached = 10_000;

    private readonly ConcurrentDictionary<string, Cached> _cache = new(StringComparer.Ordinal);

    /// <summary>Checks a presented token secret (however the surface read it). The id is returned whenever the secret is well formed, for the audit of a refusal.</summary>
    public async ValueTask<(AccessToken? Token, string? PresentedId)> AuthenticateAsync(string? secret, CancellationToken cancellationToken)
    {
        if (secret is null || !TokenSecret.TryRead(secret, out var id, out var hash))
        {
            return (null, null);
        }

        var now = time.GetUtcNow();
        var token = await FindAsync(id, now, cancellationToken).ConfigureAwait(false);
        return token is not null && TokenSecret.Matches(hash, token) && token.IsUsableAt(now) ? (token, id) : (null, id);
    }

    /// <summary>Forgets a token so its next use reads the store (after a revocation here).</summary>
    public void Forget(string id) => _cache.TryRemove(id, out _);

    private async ValueTask<AccessToken?> FindAsync(string id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue(id, out var cached) && now - cached.LoadedAt < cacheTtl)
        {
            return cached.Token;
        }

        var token = await store.FindTokenAsync(id, cancellationToken).ConfigureAwait(false);
        if (_cache.Count >= MaxCached)
        {
            _cache.Clear();
        }

        _cache[id] = new Cached(token, now);
        return token;
    }

    private sealed record Cached(AccessToken? Token, DateTimeOffset LoadedAt);
}
