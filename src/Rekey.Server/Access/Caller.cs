using Rekey.Access;
using Rekey.Keys;

namespace Rekey.Server.Access;

/// <summary>The authenticated token behind a request, and what the audit log records about the request.</summary>
internal sealed class Caller(AccessToken? token, string requestId, string? client, KeyName? key = null)
{
    /// <summary>The key named in the route, parsed once when its scope was checked.</summary>
    public KeyName? Key { get; } = key;

    /// <summary>The token, or null on a public endpoint.</summary>
    public AccessToken? Token { get; } = token;

    /// <summary>The actor recorded in audit events: the token's id, never its secret.</summary>
    public string Actor => Token?.Id ?? "anonymous";

    /// <summary>True when the token may touch the key (always false without a token).</summary>
    public bool Covers(KeyName key) => Token is not null && Token.Covers(key);

    /// <summary>The audit context for a change this request asks for.</summary>
    public ChangeContext Change(string? reason) => new(Actor, string.IsNullOrWhiteSpace(reason) ? null : reason, requestId, client);
}
