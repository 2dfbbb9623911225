using Microsoft.Extensions.DependencyInjection;
using Rekey.Api;
using Rekey.Errors;
using Rekey.Rewrap;
using Rekey.Server.Access;
using Rekey.Server.Http;

namespace Rekey.Server.Endpoints;

/// <summary>Registered data sources: the only tables re-wrap jobs started over the API may touch.</summary>
internal static class SourceEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/sources", OpenApiMetadata.Handler(RegisterAsync)).WithName(EndpointNames.SourceRegister)
            .Body<DataSourceRequest>().Produces<DataSourceResource>(StatusCodes.Status201Created);
        app.MapGet("/v1/sources", OpenApiMetadata.Handler(ListAsync)).WithName(EndpointNames.SourceList).Produces<DataSourcesResponse>();
        app.MapGet("/v1/sources/{source}", OpenApiMetadata.Handler(ReadAsync)).WithName(EndpointNames.SourceRead).Produces<DataSourceResource>();
        app.MapDelete("/v1/sources/{source}", OpenApiMetadata.Handler(RemoveAsync)).WithName(EndpointNames.SourceRemove).Produces(StatusCodes.Status204NoContent);
    }

    private static DataSources Sources(HttpContext context) => context.RequestServices.GetRequiredService<DataSources>();

    private static string Name(HttpContext context) => context.Request.RouteValues["source"] as string ?? string.Empty;

    private static async Task RegisterAsync(HttpContext context)
    {
        var body = await JsonBody.ReadAsync(context, ApiJsonContext.Default.DataSourceRequest).ConfigureAwait(false);
        var info = await Sources(context).RegisterAsync(RewrapMapping.ToRegistration(body), context.Caller().Change(body.Reason), context.RequestAborted).ConfigureAwait(false);
        context.Response.Headers.Location = "/v1/sources/" + info.Name;
        await JsonBody.WriteAsync(context, RewrapMapping.ToResource(info), ApiJsonContext.Default.DataSourceResource, StatusCodes.Status201Created).ConfigureAwait(false);
    }

    private static async Task ListAsync(HttpContext context)
    {
        var token = context.Caller().Token!;
        var visible = (await Sources(context).ListAsync(context.RequestAborted).ConfigureAwait(false))
            .Where(s => Visible(token, s))
            .Select(RewrapMapping.ToResource)
            .ToList();
        await JsonBody.WriteAsync(context, new DataSourcesResponse(visible), ApiJsonContext.Default.DataSourcesResponse).ConfigureAwait(false);
    }

    private static async Task ReadAsync(HttpContext context)
    {
        var name = Name(context);
        var info = await Sources(context).GetAsync(name, context.RequestAborted).ConfigureAwait(false);

        // A source outside the caller's scope is not there for them, rather than forbidden: its name tells nothing.
        if (!Visible(context.Caller().Token!, info))
        {
            throw new RekeyException(RekeyErrorCode.SourceNotFound, $"No data source is registered as '{name}'.");
        }

        await JsonBody.WriteAsync(context, RewrapMapping.ToResource(info), ApiJsonContext.Default.DataSourceResource).ConfigureAwait(false);
    }

    private static async Task RemoveAsync(HttpContext context)
    {
        await Sources(context).RemoveAsync(Name(context), context.Caller().Change(context.Request.Query["reason"]), context.RequestAborted).ConfigureAwait(false);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private static bool Visible(Rekey.Access.AccessToken token, DataSourceInfo source) =>
        source.Keys.Any(k => token.Patterns.Any(p => p.Overlaps(k)));
}
