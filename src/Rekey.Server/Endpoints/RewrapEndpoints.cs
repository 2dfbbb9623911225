using Microsoft.Extensions.DependencyInjection;
using Rekey.Api;
using Rekey.Rewrap;
using Rekey.Server.Access;
using Rekey.Server.Http;

namespace Rekey.Server.Endpoints;

/// <summary>Re-wrap jobs: start (run by the server's background worker), list, status, pause, resume, cancel, failures, and a key's inventory.</summary>
internal static class RewrapEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/jobs/rewrap/{**name}", OpenApiMetadata.Handler(StartAsync)).WithName(EndpointNames.JobStart)
            .Body<RewrapJobRequest>().Produces<RewrapJobResource>(StatusCodes.Status201Created);
        app.MapGet("/v1/jobs", OpenApiMetadata.Handler(ListAsync)).WithName(EndpointNames.JobList).Produces<RewrapJobsResponse>();
        app.MapGet("/v1/jobs/{id}", OpenApiMetadata.Handler(c => WriteAsync(c, Jobs(c).GetStatusAsync(JobId(c), c.RequestAborted)))).WithName(EndpointNames.JobRead).Produces<RewrapJobResource>();
        app.MapPost("/v1/jobs/{id}/pause", OpenApiMetadata.Handler(c => WriteAsync(c, Jobs(c).PauseAsync(JobId(c), c.Caller().Change(c.Request.Query["reason"]), c.RequestAborted))))
            .WithName(EndpointNames.JobPause).Produces<RewrapJobResource>();
        app.MapPost("/v1/jobs/{id}/resume", OpenApiMetadata.Handler(c => WriteAsync(c, Jobs(c).ResumeAsync(JobId(c), c.Caller().Change(c.Request.Query["reason"]), c.RequestAborted))))
            .WithName(EndpointNames.JobResume).Produces<RewrapJobResource>();
        app.MapPost("/v1/jobs/{id}/cancel", OpenApiMetadata.Handler(c => WriteAsync(c, Jobs(c).CancelAsync(JobId(c), c.Caller().Change(c.Request.Query["reason"]), c.RequestAborted))))
            .WithName(EndpointNames.JobCancel).Produces<RewrapJobResource>();
        app.MapGet("/v1/jobs/{id}/failures", OpenApiMetadata.Handler(FailuresAsync)).WithName(EndpointNames.JobFailures).Produces<RewrapFailuresResponse>();
        app.MapGet("/v1/inventory/{**name}", OpenApiMetadata.Handler(InventoryAsync)).WithName(EndpointNames.Inventory).Produces<InventoryResponse>();
    }

    private static RewrapJobs Jobs(HttpContext context) => context.RequestServices.GetRequiredService<RewrapJobs>();

    private static string JobId(HttpContext context) => context.Request.RouteValues["id"] as string ?? string.Empty;

    private static async Task StartAsync(HttpContext context)
    {
        var key = context.RouteKey();
        var body = await JsonBody.ReadAsync(context, ApiJsonContext.Default.RewrapJobRequest).ConfigureAwait(false);
        var definition = RewrapMapping.ToDefinition(key, body);
        var status = await Jobs(context).StartAsync(definition, context.Caller().Change(body.Reason), context.RequestAborted).ConfigureAwait(false);
        context.Response.Headers.Location = "/v1/jobs/" + status.Id;
        await JsonBody.WriteAsync(context, RewrapMapping.ToResource(status), ApiJsonContext.Default.RewrapJobResource, StatusCodes.Status201Created).ConfigureAwait(false);
    }

    private static async Task ListAsync(HttpContext context)
    {
        var caller = context.Caller();
        var jobs = (await Jobs(context).ListAsync(context.RequestAborted).ConfigureAwait(false)).Where(j => caller.Covers(j.Key)).Select(RewrapMapping.ToResource).ToList();
        await JsonBody.WriteAsync(context, new RewrapJobsResponse(jobs), ApiJsonContext.Default.RewrapJobsResponse).ConfigureAwait(false);
    }

    private static async Task FailuresAsync(HttpContext context)
    {
        var limit = QueryValues.Int(context.Request.Query, "limit", 1000, 1, 10_000);
        var failures = await Jobs(context).GetFailuresAsync(JobId(context), limit, context.RequestAborted).ConfigureAwait(false);
        var resources = failures.Select(f => new RewrapFailureResource(f.RecordId, f.Column, f.Version, f.Reason, f.At)).ToList();
        await JsonBody.WriteAsync(context, new RewrapFailuresResponse(resources), ApiJsonContext.Default.RewrapFailuresResponse).ConfigureAwait(false);
    }

    private static async Task InventoryAsync(HttpContext context)
    {
        var key = context.RouteKey();
        var counts = await Jobs(context).GetInventoryAsync(key, context.RequestAborted).ConfigureAwait(false);
        var resources = counts.Select(c => new InventoryResource(c.Source, c.Version, c.Count, c.CountedAt)).ToList();
        await JsonBody.WriteAsync(context, new InventoryResponse(key.Value, resources), ApiJsonContext.Default.InventoryResponse).ConfigureAwait(false);
    }

    private static async Task WriteAsync(HttpContext context, Task<RewrapJobStatus> status) =>
        await JsonBody.WriteAsync(context, RewrapMapping.ToResource(await status.ConfigureAwait(false)), ApiJsonContext.Default.RewrapJobResource).ConfigureAwait(false);
}
