using Microsoft.Extensions.DependencyInjection;
using Rekey.Access;
using Rekey.Api;
using Rekey.Approvals;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Lifecycle;
using Rekey.Server.Access;
using Rekey.Server.Http;

namespace Rekey.Server.Endpoints;

/// <summary>Dual control: list and read approvals, approve and deny them. Each is limited to approvals on keys the token covers.</summary>
internal static class ApprovalEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/approvals", OpenApiMetadata.Handler(ListAsync)).WithName(EndpointNames.ApprovalList).Produces<ApprovalsResponse>();
        app.MapGet("/v1/approvals/{id}", OpenApiMetadata.Handler(ReadAsync)).WithName(EndpointNames.ApprovalRead).Produces<ApprovalResource>();
        app.MapPost("/v1/approvals/{id}/approve", OpenApiMetadata.Handler(c => DecideAsync(c, true))).WithName(EndpointNames.ApprovalApprove)
            .Body<ApprovalDecisionRequest>().Produces<ApprovalResource>();
        app.MapPost("/v1/approvals/{id}/deny", OpenApiMetadata.Handler(c => DecideAsync(c, false))).WithName(EndpointNames.ApprovalDeny)
            .Body<ApprovalDecisionRequest>().Produces<ApprovalResource>();
    }

    /// <summary>True when <paramref name="caller"/>'s token covers what the approval is about: its key, every key its policy pattern matches, or (store-wide) everything.</summary>
    public static bool Covers(Caller caller, ApprovalRequest request)
    {
        if (caller.Token is not { } token)
        {
            return false;
        }

        if (ApprovalOperations.StoreWide.Contains(request.Operation) || request.Key is null)
        {
            return token.Patterns.Any(p => p.Value == "*");
        }

        return KeyName.TryParse(request.Key, out var key) ? token.Covers(key)
            : KeyPattern.TryParse(request.Key, out var pattern) && token.Patterns.Any(t => LifecycleEndpoints.Covers(t, pattern));
    }

    private static ApprovalBoard Board(HttpContext context) => context.RequestServices.GetRequiredService<ApprovalBoard>();

    private static string Id(HttpContext context) => context.Request.RouteValues["id"] as string ?? string.Empty;

    private static async Task ListAsync(HttpContext context)
    {
        ApprovalState? state = null;
        if (context.Request.Query["state"].ToString() is { Length: > 0 } text)
        {
            state = Enum.TryParse<ApprovalState>(text, ignoreCase: true, out var parsed) && !int.TryParse(text, out _)
                ? parsed
                : throw new RekeyException(RekeyErrorCode.InvalidRequest, $"'state' must be pending, approved, executed, failed, denied or expired, not '{text}'.");
        }

        var limit = QueryValues.Int(context.Request.Query, "limit", 100, 1, 1000);
        var caller = context.Caller();
        var approvals = await Board(context).ListAsync(state, limit, context.RequestAborted).ConfigureAwait(false);
        await JsonBody.WriteAsync(context, new ApprovalsResponse(approvals.Where(a => Covers(caller, a.Request)).Select(ApiMapping.ToResource).ToList()), ApiJsonContext.Default.ApprovalsResponse).ConfigureAwait(false);
    }

    private static async Task ReadAsync(HttpContext context) =>
        await JsonBody.WriteAsync(context, ApiMapping.ToResource(await VisibleAsync(context).ConfigureAwait(false)), ApiJsonContext.Default.ApprovalResource).ConfigureAwait(false);

    private static async Task DecideAsync(HttpContext context, bool approve)
    {
        var body = await JsonBody.ReadOptionalAsync(context, ApiJsonContext.Default.ApprovalDecisionRequest, new ApprovalDecisionRequest()).ConfigureAwait(false);
        var approval = await VisibleAsync(context).ConfigureAwait(false);
        var change = context.Caller().Change(body.Comment);
        var decided = approve
            ? await Board(context).ApproveAsync(approval.Id, change, context.RequestAborted).ConfigureAwait(false)
            : await Board(context).DenyAsync(approval.Id, change, context.RequestAborted).ConfigureAwait(false);
        await JsonBody.WriteAsync(context, ApiMapping.ToResource(decided), ApiJsonContext.Default.ApprovalResource).ConfigureAwait(false);
    }

    // An approval on a key the token does not cover reads as absent, as keys do.
    private static async Task<ApprovalInfo> VisibleAsync(HttpContext context)
    {
        var approval = await Board(context).GetAsync(Id(context), context.RequestAborted).ConfigureAwait(false);
        return Covers(context.Caller(), approval.Request)
            ? approval
            : throw new RekeyException(RekeyErrorCode.ApprovalNotFound, $"No approval has the id '{approval.Id}'.");
    }
}
