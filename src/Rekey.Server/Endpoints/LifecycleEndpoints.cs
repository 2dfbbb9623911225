using Microsoft.Extensions.DependencyInjection;
using Rekey.Access;
using Rekey.Api;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Lifecycle;
using Rekey.Server.Access;
using Rekey.Server.Http;

namespace Rekey.Server.Endpoints;

/// <summary>Lifecycle policies (set, remove, list, a key's effective policy) and rotation records (list, show, retry).</summary>
internal static class LifecycleEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/policies", OpenApiMetadata.Handler(ListAsync)).WithName(EndpointNames.PolicyList).Produces<PoliciesResponse>();
        app.MapPut("/v1/policies", OpenApiMetadata.Handler(SetAsync)).WithName(EndpointNames.PolicySet).Body<PolicySetRequest>().Produces<PolicyResource>();
        app.MapDelete("/v1/policies", OpenApiMetadata.Handler(UnsetAsync)).WithName(EndpointNames.PolicyUnset).Produces(StatusCodes.Status204NoContent);
        app.MapGet("/v1/policies/effective/{**name}", OpenApiMetadata.Handler(EffectiveAsync)).WithName(EndpointNames.PolicyEffective).Produces<EffectivePolicyResource>();
        app.MapGet("/v1/rotations", OpenApiMetadata.Handler(RotationsAsync)).WithName(EndpointNames.RotationList).Produces<RotationsResponse>();
        app.MapGet("/v1/rotations/{id}", OpenApiMetadata.Handler(RotationAsync)).WithName(EndpointNames.RotationRead).Produces<RotationResource>();
        app.MapPost("/v1/rotations/{id}/retry", OpenApiMetadata.Handler(RetryAsync)).WithName(EndpointNames.RotationRetry).Produces<RotationResource>();
        app.MapGet("/v1/report", OpenApiMetadata.Handler(ReportAsync)).WithName(EndpointNames.Report).Produces(StatusCodes.Status200OK, contentType: "text/html");
    }

    // The compliance report for the keys ?pattern= selects (default *) that the token covers, as ?format=json|markdown|html.
    private static async Task ReportAsync(HttpContext context)
    {
        var token = context.Caller().Token!;
        var pattern = context.Request.Query["pattern"] is { Count: 1 } given ? Pattern(given[0]) : KeyPattern.All;
        var format = context.Request.Query["format"] is { Count: 1 } f ? f[0]! : "json";
        if (!ComplianceReportFormats.Names.Contains(format))
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, $"'format' is json, markdown or html, not '{format}'.");
        }

        var report = await context.RequestServices.GetRequiredService<ComplianceReports>()
            .BuildAsync(pattern, key => token.Patterns.Any(p => p.Matches(key)), context.RequestAborted).ConfigureAwait(false);
        var (text, mediaType) = ComplianceReportFormats.Write(report, format);
        context.Response.ContentType = mediaType;
        await context.Response.WriteAsync(text, context.RequestAborted).ConfigureAwait(false);
    }

    private static LifecyclePolicies Policies(HttpContext context) => context.RequestServices.GetRequiredService<LifecyclePolicies>();

    private static RotationRecords Rotations(HttpContext context) => context.RequestServices.GetRequiredService<RotationRecords>();

    private static async Task ListAsync(HttpContext context)
    {
        var token = context.Caller().Token!;
        var visible = (await Policies(context).ListAsync(context.RequestAborted).ConfigureAwait(false))
            .Where(p => token.Patterns.Any(t => t.Overlaps(KeyPattern.Parse(p.Pattern))))
            .Select(ApiMapping.ToResource)
            .ToList();
        await JsonBody.WriteAsync(context, new PoliciesResponse(visible), ApiJsonContext.Default.PoliciesResponse).ConfigureAwait(false);
    }

    private static async Task SetAsync(HttpContext context)
    {
        var body = await JsonBody.ReadAsync(context, ApiJsonContext.Default.PolicySetRequest).ConfigureAwait(false);
        var pattern = Pattern(body.Pattern);
        var policy = body.Policy ?? throw new RekeyException(RekeyErrorCode.InvalidRequest, "'policy' is required.");
        Authorize(context, pattern);
        var entry = await Policies(context).SetAsync(pattern, policy, context.Caller().Change(body.Reason), context.RequestAborted).ConfigureAwait(false);
        await JsonBody.WriteAsync(context, ApiMapping.ToResource(entry), ApiJsonContext.Default.PolicyResource).ConfigureAwait(false);
    }

    private static async Task UnsetAsync(HttpContext context)
    {
        var pattern = Pattern(context.Request.Query["pattern"]);
        Authorize(context, pattern);
        await Policies(context).UnsetAsync(pattern, context.Caller().Change(context.Request.Query["reason"]), context.RequestAborted).ConfigureAwait(false);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private static async Task EffectiveAsync(HttpContext context)
    {
        var effective = await Policies(context).GetEffectiveAsync(context.RouteKey(), context.RequestAborted).ConfigureAwait(false);
        await JsonBody.WriteAsync(context, ApiMapping.ToResource(effective), ApiJsonContext.Default.EffectivePolicyResource).ConfigureAwait(false);
    }

    private static async Task RotationsAsync(HttpContext context)
    {
        var caller = context.Caller();
        KeyName? key = context.Request.Query["key"] is { Count: > 0 } text
            ? KeyName.TryParse(text.ToString(), out var parsed) ? parsed : throw new RekeyException(RekeyErrorCode.InvalidRequest, $"'{text}' is not a valid key name.")
            : null;
        var limit = QueryValues.Int(context.Request.Query, "limit", 100, 1, 1000);
        var records = (await Rotations(context).ListAsync(key, limit, context.RequestAborted).ConfigureAwait(false))
            .Where(r => caller.Covers(r.Key))
            .Select(ApiMapping.ToResource)
            .ToList();
        await JsonBody.WriteAsync(context, new RotationsResponse(records), ApiJsonContext.Default.RotationsResponse).ConfigureAwait(false);
    }

    private static async Task RotationAsync(HttpContext context) =>
        await JsonBody.WriteAsync(context, ApiMapping.ToResource(await VisibleAsync(context).ConfigureAwait(false)), ApiJsonContext.Default.RotationResource).ConfigureAwait(false);

    private static async Task RetryAsync(HttpContext context)
    {
        var record = await VisibleAsync(context).ConfigureAwait(false);
        var retried = await Rotations(context).RetryAsync(record.Id, context.Caller().Change(context.Request.Query["reason"]), context.RequestAborted).ConfigureAwait(false);
        await JsonBody.WriteAsync(context, ApiMapping.ToResource(retried), ApiJsonContext.Default.RotationResource).ConfigureAwait(false);
    }

    // A record of a key outside the caller's scope is not there for them: its id tells nothing.
    private static async Task<RotationRecord> VisibleAsync(HttpContext context)
    {
        var id = context.Request.RouteValues["id"] as string ?? string.Empty;
        var record = await Rotations(context).GetAsync(id, context.RequestAborted).ConfigureAwait(false);
        return context.Caller().Covers(record.Key)
            ? record
            : throw new RekeyException(RekeyErrorCode.RotationNotFound, $"No rotation record has the id '{id}'.");
    }

    private static KeyPattern Pattern(string? text) =>
        KeyPattern.TryParse(text, out var pattern)
            ? pattern
            : throw new RekeyException(RekeyErrorCode.InvalidRequest, $"'pattern' must be an exact key name, 'prefix/*' or '*'{(text is null ? "; it is missing" : $", not '{text}'")}.");

    /// <summary>A policy change needs a token whose patterns cover every key the policy's pattern could match.</summary>
    private static void Authorize(HttpContext context, KeyPattern pattern)
    {
        var token = context.Caller().Token!;
        if (!token.Patterns.Any(t => Covers(t, pattern)))
        {
            throw new RekeyException(RekeyErrorCode.Forbidden, $"This token's key patterns do not cover every key '{pattern.Value}' matches.");
        }
    }

    /// <summary>True when a token's pattern covers every key a policy's pattern can match.</summary>
    internal static bool Covers(KeyPattern token, KeyPattern policy)
    {
        var (t, p) = (token.Value, policy.Value);
        if (t == "*" || t == p)
        {
            return true;
        }

        return t.EndsWith("/*", StringComparison.Ordinal) && p != "*" && p.StartsWith(t[..^1], StringComparison.Ordinal);
    }
}
