using Microsoft.Extensions.DependencyInjection;
using Rekey.Access;
using Rekey.Api;
using Rekey.Audit;
using Rekey.Errors;
using Rekey.Server.Access;
using Rekey.Server.Http;
using Rekey.Storage;

namespace Rekey.Server.Endpoints;

/// <summary>Tokens: issue (the secret shown once), list (never secrets), revoke, and look up self.</summary>
internal static class TokenEndpoints
{
    private const int MaxNameLength = 200;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/tokens", OpenApiMetadata.Handler(CreateAsync)).WithName(EndpointNames.TokenCreate)
            .Body<TokenCreateRequest>().Produces<TokenCreatedResponse>(StatusCodes.Status201Created);
        app.MapGet("/v1/tokens", OpenApiMetadata.Handler(ListAsync)).WithName(EndpointNames.TokenList).Produces<TokensResponse>();
        app.MapGet("/v1/tokens/self", OpenApiMetadata.Handler(SelfAsync)).WithName(EndpointNames.TokenSelf).Produces<TokenResource>();
        app.MapDelete("/v1/tokens/{id}", OpenApiMetadata.Handler(RevokeAsync)).WithName(EndpointNames.TokenRevoke).Produces(StatusCodes.Status204NoContent);
    }

    private static async Task CreateAsync(HttpContext context)
    {
        var body = await JsonBody.ReadAsync(context, ApiJsonContext.Default.TokenCreateRequest).ConfigureAwait(false);
        var name = JsonBody.Required(body.Name, "name").Trim();
        if (name.Length is 0 or > MaxNameLength)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, $"'name' must be 1 to {MaxNameLength} characters.");
        }

        if (body.Roles is not { Count: > 0 } roleNames)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "'roles' must name at least one of admin, key-officer, operator, application, auditor.");
        }

        var roles = new HashSet<Role>();
        foreach (var roleName in roleNames)
        {
            roles.Add(RoleNames.TryParse(roleName, out var role)
                ? role.Value
                : throw new RekeyException(RekeyErrorCode.InvalidRequest, $"'{roleName}' is not a role; use admin, key-officer, operator, application or auditor."));
        }

        if (body.KeyPatterns is not { Count: > 0 } patternTexts)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "'key_patterns' must hold at least one pattern: a key name, 'prefix/*' or '*'.");
        }

        var patterns = new List<KeyPattern>();
        foreach (var text in patternTexts)
        {
            patterns.Add(KeyPattern.TryParse(text, out var pattern)
                ? pattern
                : throw new RekeyException(RekeyErrorCode.InvalidRequest, $"'{text}' is not a key pattern: a key name, 'prefix/*' or '*'."));
        }

        var ttl = KeyEndpoints.Seconds(body.TtlSeconds, "ttl_seconds");
        if (ttl == TimeSpan.Zero)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "'ttl_seconds' must be positive; leave it out for a token that does not expire.");
        }

        var store = context.RequestServices.GetRequiredService<ITokenStore>();
        var time = context.RequestServices.GetRequiredService<TimeProvider>();
        var (token, secret) = await TokenIssuer.IssueAsync(store, name, roles, patterns, ttl, context.Caller().Change(null), time, context.RequestAborted).ConfigureAwait(false);
        context.Response.Headers.CacheControl = "no-store";
        await JsonBody.WriteAsync(context, new TokenCreatedResponse(ApiMapping.ToResource(token), secret), ApiJsonContext.Default.TokenCreatedResponse, StatusCodes.Status201Created).ConfigureAwait(false);
    }

    private static async Task ListAsync(HttpContext context)
    {
        var tokens = await context.RequestServices.GetRequiredService<ITokenStore>().ListTokensAsync(context.RequestAborted).ConfigureAwait(false);
        await JsonBody.WriteAsync(context, new TokensResponse(tokens.Select(ApiMapping.ToResource).ToList()), ApiJsonContext.Default.TokensResponse).ConfigureAwait(false);
    }

    private static Task SelfAsync(HttpContext context) =>
        JsonBody.WriteAsync(context, ApiMapping.ToResource(context.Caller().Token!), ApiJsonContext.Default.TokenResource);

    private static async Task RevokeAsync(HttpContext context)
    {
        var id = context.Request.RouteValues["id"] as string ?? string.Empty;
        var time = context.RequestServices.GetRequiredService<TimeProvider>();
        var now = AuditChain.TruncateToMilliseconds(time.GetUtcNow());
        var caller = context.Caller();
        var audit = new AuditRecord(now, caller.Actor, "token.revoke", null, null, null, "success", ChangeContext.Describe(caller.Change(context.Request.Query["reason"]), "token " + id));
        await context.RequestServices.GetRequiredService<ITokenStore>().RevokeTokenAsync(id, now, audit, context.RequestAborted).ConfigureAwait(false);
        context.RequestServices.GetRequiredService<TokenAuthenticator>().Forget(id);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }
}
