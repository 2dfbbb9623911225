using Microsoft.AspNetCore.Routing;
using Rekey.Access;
using Rekey.Audit;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Server.Http;
using Rekey.Storage;
using Rekey.Server.Surfaces;

namespace Rekey.Server.Access;

/// <summary>
/// Runs after routing and before every handler: finds the endpoint's rule in the policy table,
/// authenticates the token the endpoint's <see cref="ApiSurface"/> reads, checks role and key
/// scope, and records every refusal in the audit log, answering in the surface's error shape. An
/// endpoint without a rule is refused.
/// </summary>
internal sealed class AccessMiddleware(RequestDelegate next, TokenAuthenticator authenticator, IKeyStore store, IRewrapJobStore jobs, RefusalLimiter refusals, TimeProvider time)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        if ((endpoint is null || endpoint.Metadata.GetMetadata<IEndpointNameMetadata>() is null) && await Transit.TransitFallback.TryAnswerAsync(context).ConfigureAwait(false))
        {
            return;
        }

        if (endpoint is null)
        {
            await ApiSurface.Of(context).WriteErrorAsync(context, RekeyErrorCode.RouteNotFound, $"No endpoint at {context.Request.Method} {context.Request.Path}.").ConfigureAwait(false);
            return;
        }

        var name = endpoint.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName;
        if (name is null || !EndpointPolicy.Rules.TryGetValue(name, out var rule))
        {
            // Routing answers a known path with the wrong method through an unnamed endpoint.
            var wrongMethod = endpoint.DisplayName?.StartsWith("405", StringComparison.Ordinal) == true;
            await ApiSurface.Of(context).WriteErrorAsync(
                context,
                wrongMethod ? RekeyErrorCode.InvalidRequest : RekeyErrorCode.Forbidden,
                wrongMethod ? $"{context.Request.Method} is not allowed on {context.Request.Path}." : "This endpoint is not in the policy table.",
                wrongMethod ? StatusCodes.Status405MethodNotAllowed : null).ConfigureAwait(false);
            return;
        }

        if (rule.Scope == EndpointScope.Public)
        {
            context.Features.Set(new Caller(null, context.TraceIdentifier, context.ClientAddress()));
            await next(context).ConfigureAwait(false);
            return;
        }

        var (token, presentedId) = await authenticator.AuthenticateAsync(ApiSurface.Of(context).ReadToken(context.Request), context.RequestAborted).ConfigureAwait(false);
        if (token is null)
        {
            // Nobody proved to be the token whose id was presented: the actor is anonymous, and
            // the id goes in a field of its own. Beyond a per-address rate, refusals are counted
            // for a summary event instead of written one by one.
            const string Unauthenticated = "A valid token is required (missing, unknown, expired or revoked).";
            if (!refusals.ShouldRecord(context.ClientAddress() ?? "unknown"))
            {
                await ApiSurface.Of(context).WriteErrorAsync(context, RekeyErrorCode.Unauthenticated, Unauthenticated).ConfigureAwait(false);
                return;
            }

            await RefuseAsync(context, rule, "anonymous", RekeyErrorCode.Unauthenticated, Unauthenticated, presentedId).ConfigureAwait(false);
            return;
        }

        if (!rule.Roles.Overlaps(token.Roles))
        {
            await RefuseAsync(context, rule, token.Id, RekeyErrorCode.Forbidden, $"This token's roles do not allow {rule.Name}.").ConfigureAwait(false);
            return;
        }

        KeyName? routeKey = null;
        switch (rule.Scope)
        {
            case EndpointScope.Key:
                if (!HttpContextExtensions.TryRouteKey(context, out var key, out var problem))
                {
                    await ApiSurface.Of(context).WriteErrorAsync(context, RekeyErrorCode.InvalidRequest, problem!).ConfigureAwait(false);
                    return;
                }

                if (!token.Covers(key))
                {
                    await RefuseAsync(context, rule, token.Id, RekeyErrorCode.Forbidden, $"This token's key patterns do not cover '{key}'.").ConfigureAwait(false);
                    return;
                }

                routeKey = key;
                break;
            case EndpointScope.Job:
                // A job is in scope when its key is; an unknown id is left to the handler's 404.
                if (context.Request.RouteValues["id"] is string jobId
                    && await jobs.FindJobAsync(jobId, context.RequestAborted).ConfigureAwait(false) is { } job
                    && !token.Covers(job.Key))
                {
                    await RefuseAsync(context, rule, token.Id, RekeyErrorCode.Forbidden, $"This token's key patterns do not cover the key of job {jobId}.").ConfigureAwait(false);
                    return;
                }

                break;
            case EndpointScope.Global when !token.Patterns.Contains(KeyPattern.All):
                await RefuseAsync(context, rule, token.Id, RekeyErrorCode.Forbidden, $"{rule.Name} needs a token whose key patterns include '*'.").ConfigureAwait(false);
                return;
        }

        context.Features.Set(new Caller(token, context.TraceIdentifier, context.ClientAddress(), routeKey));
        await next(context).ConfigureAwait(false);
    }

    private async Task RefuseAsync(HttpContext context, EndpointRule rule, string actor, RekeyErrorCode code, string detail, string? presentedTokenId = null)
    {
        // A refusal is evidence: record it before answering. If it cannot be recorded, the
        // request fails as unavailable, as any write whose audit event cannot be written does.
        var key = AuditKey(context.Request.RouteValues["name"] as string);
        var change = new ChangeContext(actor, null, context.TraceIdentifier, context.ClientAddress());
        var record = ChangeContext.Stamp(change, new AuditRecord(AuditChain.TruncateToMilliseconds(time.GetUtcNow()), actor, rule.Name, key, null, null, "refused:" + code, detail))
            with { PresentedTokenId = presentedTokenId };
        await store.AppendAuditAsync(record, context.RequestAborted).ConfigureAwait(false);
        await ApiSurface.Of(context).WriteErrorAsync(context, code, detail).ConfigureAwait(false);
    }

    // A key field from the route is recorded as it is when it is a key name; anything else is cut
    // to a key name's length and marked with "invalid:" (a prefix no key name can have), so a
    // flood of long made-up names cannot grow the log by their size.
    private static string? AuditKey(string? routeKey) =>
        routeKey is null || KeyName.TryParse(routeKey, out _)
            ? routeKey
            : "invalid:" + (routeKey.Length > KeyName.MaxLength ? routeKey[..KeyName.MaxLength] : routeKey);
}
