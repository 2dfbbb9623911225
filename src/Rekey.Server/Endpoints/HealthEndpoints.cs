using Microsoft.Extensions.DependencyInjection;
using Rekey.Api;
using Rekey.Errors;
using Rekey.Server.Access;
using Rekey.Server.Http;
using Rekey.Storage;

namespace Rekey.Server.Endpoints;

/// <summary><c>/healthz</c> (the process answers) and <c>/readyz</c> (and its store answers too).</summary>
internal static class HealthEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", OpenApiMetadata.Handler(c => JsonBody.WriteAsync(c, new HealthResponse("ok"), ApiJsonContext.Default.HealthResponse)))
            .WithName(EndpointNames.Health).Produces<HealthResponse>();
        app.MapGet("/readyz", OpenApiMetadata.Handler(ReadyAsync)).WithName(EndpointNames.Ready).Produces<HealthResponse>().Produces<HealthResponse>(StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task ReadyAsync(HttpContext context)
    {
        try
        {
            await context.RequestServices.GetRequiredService<IAuditCheckpointStore>().GetAuditHeadAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (RekeyStoreException)
        {
            await JsonBody.WriteAsync(context, new HealthResponse("store unreachable"), ApiJsonContext.Default.HealthResponse, StatusCodes.Status503ServiceUnavailable).ConfigureAwait(false);
            return;
        }

        await JsonBody.WriteAsync(context, new HealthResponse("ok"), ApiJsonContext.Default.HealthResponse).ConfigureAwait(false);
    }
}
