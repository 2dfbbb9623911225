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
        var store = context.RequestServices.GetRequiredService<ITokenStore>();
        var time = context.RequestServices.GetRequiredService<TimeProvider>();
        var change = context.Caller().Change(null);
        var gate = context.Service().Approvals;
        if (body.ApprovalId is { } approvalId && gate is Rekey.Lifecycle.ApprovalGate approvals)
        {
            change = change with { Approval = await approvals.CollectAsync(approvalId, change.Actor, context.RequestAborted).ConfigureAwait(false) };
        }

        var (token, secret) = await TokenIssuer.IssueAsync(store, body, change, time, gate, context.RequestAborted).ConfigureAwait(false);
        context.Response.Headers.CacheControl = "no-store";
        await JsonBody.WriteAsync(context, new TokenCreatedResponse(TokenMapping.ToResource(token), secret), ApiJsonContext.Default.TokenCreatedResponse, StatusCodes.Status201Created).ConfigureAwait(false);
    }

    private static async Task ListAsync(HttpContext context)
    {
        var tokens = await context.RequestServices.GetRequiredService<ITokenStore>().ListTokensAsync(context.RequestAborted).ConfigureAwait(false);
        await JsonBody.WriteAsync(context, new TokensResponse(tokens.Select(TokenMapping.ToResource).ToList()), ApiJsonContext.Default.TokensResponse).ConfigureAwait(false);
    }

    private static Task SelfAsync(HttpContext context) =>
        JsonBody.WriteAsync(context, TokenMapping.ToResource(context.Caller().Token!), ApiJsonContext.Default.TokenResource);

    private static async Task RevokeAsync(HttpContext context)
    {
        var id = context.Request.RouteValues["id"] as string ?? string.Empty;
        var store = context.RequestServices.GetRequiredService<ITokenStore>();
        var time = context.RequestServices.GetRequiredService<TimeProvider>();
        await TokenIssuer.RevokeAsync(store, id, context.Caller().Change(context.Request.Query["reason"]), time, context.RequestAborted).ConfigureAwait(false);
        context.RequestServices.GetRequiredService<TokenAuthenticator>().Forget(id);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }
}
