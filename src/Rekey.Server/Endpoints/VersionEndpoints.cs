using Rekey.Api;
using Rekey.Keys;
using Rekey.Server.Access;
using Rekey.Server.Http;

namespace Rekey.Server.Endpoints;

/// <summary>Versions: rotate, and each lifecycle transition under the lifecycle rules.</summary>
internal static class VersionEndpoints
{
    private delegate Task<KeyVersionInfo> Transition(RekeyService service, KeyName name, int version, VersionChangeRequest body, ChangeContext change, CancellationToken cancellationToken);

    private static readonly TimeSpan DefaultGrace = TimeSpan.FromDays(30);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/rotate/{**name}", OpenApiMetadata.Handler(RotateAsync)).WithName(EndpointNames.Rotate)
            .Body<RotateRequest>().Produces<VersionResource>();
        app.MapPost("/v1/import-token/{**name}", OpenApiMetadata.Handler(ImportTokenAsync)).WithName(EndpointNames.ImportToken)
            .Body<ImportTokenRequest>().Produces<ImportTokenResource>();
        app.MapPost("/v1/import/{**name}", OpenApiMetadata.Handler(ImportAsync)).WithName(EndpointNames.Import)
            .Body<ImportRequest>().Produces<VersionResource>();
        MapTransition(app, "activate", EndpointNames.Activate, (s, n, v, _, c, ct) => s.ActivateAsync(n, v, c, ct));
        MapTransition(app, "disable", EndpointNames.Disable, (s, n, v, _, c, ct) => s.DisableAsync(n, v, c, ct));
        MapTransition(app, "enable", EndpointNames.Enable, (s, n, v, _, c, ct) => s.EnableAsync(n, v, c, ct));
        MapTransition(app, "retire", EndpointNames.Retire, (s, n, v, b, c, ct) => s.RetireAsync(n, v, KeyEndpoints.Seconds(b.GraceSeconds, "grace_seconds") ?? DefaultGrace, c, ct));
        MapTransition(app, "schedule-destroy", EndpointNames.ScheduleDestroy, (s, n, v, _, c, ct) => s.ScheduleDestroyAsync(n, v, c, ct));
        MapTransition(app, "cancel-destroy", EndpointNames.CancelDestroy, (s, n, v, _, c, ct) => s.CancelDestroyAsync(n, v, c, ct));
        MapTransition(app, "destroy", EndpointNames.Destroy, (s, n, v, b, c, ct) => s.DestroyAsync(n, v, new DestroyOptions(b.Force == true), c, ct));
    }

    private static void MapTransition(IEndpointRouteBuilder app, string verb, string endpointName, Transition transition) =>
        app.MapPost($"/v1/{verb}/{{**name}}", OpenApiMetadata.Handler(async context =>
        {
            var name = context.RouteKey();
            var body = await JsonBody.ReadAsync(context, ApiJsonContext.Default.VersionChangeRequest).ConfigureAwait(false);
            var version = JsonBody.Required(body.Version, "version");
            var info = await transition(context.Service(), name, version, body, context.Caller().Change(body.Reason), context.RequestAborted).ConfigureAwait(false);
            await JsonBody.WriteAsync(context, ApiMapping.ToResource(info), ApiJsonContext.Default.VersionResource).ConfigureAwait(false);
        })).WithName(endpointName).Body<VersionChangeRequest>().Produces<VersionResource>();

    private static async Task ImportTokenAsync(HttpContext context)
    {
        var name = context.RouteKey();
        var body = await JsonBody.ReadOptionalAsync(context, ApiJsonContext.Default.ImportTokenRequest, new ImportTokenRequest()).ConfigureAwait(false);
        var issued = await context.Service().CreateImportTokenAsync(name, KeyEndpoints.Seconds(body.ValidForSeconds, "valid_for_seconds"), context.Caller().Change(body.Reason), context.RequestAborted).ConfigureAwait(false);
        await JsonBody.WriteAsync(context, new ImportTokenResource(issued.Key.Value, issued.Token, issued.PublicKeyPem, issued.Algorithm, issued.ExpiresAt), ApiJsonContext.Default.ImportTokenResource).ConfigureAwait(false);
    }

    private static async Task ImportAsync(HttpContext context)
    {
        var name = context.RouteKey();
        var body = await JsonBody.ReadAsync(context, ApiJsonContext.Default.ImportRequest).ConfigureAwait(false);
        var token = JsonBody.Required(body.Token, "token");
        var wrapped = JsonBody.Base64(JsonBody.Required(body.WrappedMaterial, "wrapped_material"), "wrapped_material");
        var info = await context.Service().ImportAsync(name, token, wrapped, body.Pending != true, context.Caller().Change(body.Reason), context.RequestAborted).ConfigureAwait(false);
        await JsonBody.WriteAsync(context, ApiMapping.ToResource(info), ApiJsonContext.Default.VersionResource).ConfigureAwait(false);
    }

    private static async Task RotateAsync(HttpContext context)
    {
        var name = context.RouteKey();
        var body = await JsonBody.ReadOptionalAsync(context, ApiJsonContext.Default.RotateRequest, new RotateRequest()).ConfigureAwait(false);
        var options = new RotateOptions(body.ExpectedVersion, Activate: body.Pending != true);
        var info = await context.Service().RotateAsync(name, options, context.Caller().Change(body.Reason), context.RequestAborted).ConfigureAwait(false);
        await JsonBody.WriteAsync(context, ApiMapping.ToResource(info), ApiJsonContext.Default.VersionResource).ConfigureAwait(false);
    }
}
