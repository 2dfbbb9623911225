using Microsoft.Extensions.DependencyInjection;
using Rekey.Api;
using Rekey.Errors;
using Rekey.Server.Access;
using Rekey.Server.Http;
using Rekey.Storage;

namespace Rekey.Server.Endpoints;

/// <summary><c>/healthz</c> (the process answers), <c>/readyz</c> (and its store answers too) and <c>/v1/sys/version</c>.</summary>
internal static class HealthEndpoints
{
    /// <summary>The version this server was built as: the assembly's informational version (with the commit, when known).</summary>
    public static string Version { get; } =
        typeof(HealthEndpoints).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "unknown";

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", OpenApiMetadata.Handler(c => JsonBody.WriteAsync(c, new HealthResponse("ok", Version), ApiJsonContext.Default.HealthResponse)))
            .WithName(EndpointNames.Health).Produces<HealthResponse>();
        app.MapGet("/v1/sys/version", OpenApiMetadata.Handler(c => JsonBody.WriteAsync(c, new VersionResponse(Version, System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription), ApiJsonContext.Default.VersionResponse)))
            .WithName(EndpointNames.Version).Produces<VersionResponse>();
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

        await JsonBody.WriteAsync(context, new HealthResponse("ok", Version), ApiJsonContext.Default.HealthResponse).ConfigureAwait(false);
    }
}
