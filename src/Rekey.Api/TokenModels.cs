namespace Rekey.Api;

/// <summary>Body of <c>POST /v1/tokens</c>.</summary>
/// <param name="Name">A label (required).</param>
/// <param name="Roles">admin, key-officer, operator, application, auditor, approver (at least one).</param>
/// <param name="KeyPatterns">Keys it may touch: exact names, <c>prefix/*</c>, or <c>*</c> (at least one).</param>
/// <param name="TtlSeconds">Lifetime; absent for a token that does not expire.</param>
/// <param name="ApprovalId">Under dual control, the approved approval this issuance carries out (requested by the same caller, for exactly these fields).</param>
public sealed record TokenCreateRequest(string? Name = null, IReadOnlyList<string>? Roles = null, IReadOnlyList<string>? KeyPatterns = null, long? TtlSeconds = null, string? ApprovalId = null);

/// <summary>A token as listed: never its secret or its hash.</summary>
/// <param name="Id">The public id (the actor in audit events).</param>
/// <param name="Name">Its label.</param>
/// <param name="Roles">Its roles.</param>
/// <param name="KeyPatterns">Its key patterns.</param>
/// <param name="CreatedAt">When issued.</param>
/// <param name="ExpiresAt">When it stops working.</param>
/// <param name="RevokedAt">When revoked.</param>
public sealed record TokenResource(string Id, string Name, IReadOnlyList<string> Roles, IReadOnlyList<string> KeyPatterns, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt);

/// <summary>A newly issued token with its secret, shown this once.</summary>
/// <param name="Token">The token.</param>
/// <param name="Secret">The bearer secret: store it now, it cannot be shown again.</param>
public sealed record TokenCreatedResponse(TokenResource Token, string Secret);

/// <summary>Every token.</summary>
/// <param name="Tokens">The tokens, oldest first.</param>
public sealed record TokensResponse(IReadOnlyList<TokenResource> Tokens);

/// <summary>A health answer.</summary>
/// <param name="Status"><c>ok</c>, or what is wrong.</param>
/// <param name="Version">The server's version.</param>
public sealed record HealthResponse(string Status, string? Version = null);

/// <summary>What is running: <c>GET /v1/sys/version</c>.</summary>
/// <param name="Version">Rekey's version (with the source commit when built from a checkout).</param>
/// <param name="Runtime">The .NET runtime it runs on.</param>
public sealed record VersionResponse(string Version, string Runtime);
