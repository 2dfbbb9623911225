using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Rekey.Errors;
using Rekey.Server.Access;
using Rekey.Server.Endpoints;
using Rekey.Server.Surfaces;
using Rekey.Storage;

namespace Rekey.Server.Transit;

/// <summary>
/// The few <c>sys/</c> calls Vault clients make on their own: <c>sys/health</c>, listing
/// <c>sys/mounts</c>, and enabling <c>transit</c> at a path (which succeeds, changing nothing,
/// at a mount the server's configuration names).
/// </summary>
internal static class VaultSysEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/sys/health", HealthAsync).WithName(EndpointNames.VaultHealth).WithMetadata(VaultSurface.Instance);
        app.MapGet("/v1/sys/mounts", MountsAsync).WithName(EndpointNames.VaultMountList).WithMetadata(VaultSurface.Instance);
        app.MapPost("/v1/sys/mounts/{**path}", EnableAsync).WithName(EndpointNames.VaultMountEnable).WithMetadata(VaultSurface.Instance);
    }

    // Vault's health document: 200 when the store answers, 503 (Vault's "sealed") when it does not.
    private static async Task HealthAsync(HttpContext context)
    {
        var ready = true;
        try
        {
            await context.RequestServices.GetRequiredService<IAuditCheckpointStore>().GetAuditHeadAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (RekeyStoreException)
        {
            ready = false;
        }

        var now = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteBoolean("initialized"u8, true);
            json.WriteBoolean("sealed"u8, !ready);
            json.WriteBoolean("standby"u8, false);
            json.WriteBoolean("performance_standby"u8, false);
            json.WriteString("replication_performance_mode"u8, "disabled");
            json.WriteString("replication_dr_mode"u8, "disabled");
            json.WriteNumber("server_time_utc"u8, now.ToUnixTimeSeconds());
            json.WriteString("version"u8, HealthEndpoints.Version);
            json.WriteString("cluster_name"u8, "rekey");
            json.WriteEndObject();
        }

        context.Response.StatusCode = ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }

    private static Task MountsAsync(HttpContext context)
    {
        var mounts = context.RequestServices.GetRequiredService<TransitMounts>();
        return VaultResponse.WriteAsync(context, json =>
        {
            foreach (var mount in mounts.Names.Order(StringComparer.Ordinal))
            {
                json.WriteStartObject(mount + "/");
                json.WriteString("type"u8, "transit");
                json.WriteString("description"u8, "Rekey's Vault-compatible Transit surface");
                json.WriteString("accessor"u8, "transit_rekey_" + mount);
                json.WriteStartObject("config"u8);
                json.WriteNumber("default_lease_ttl"u8, 0);
                json.WriteNumber("max_lease_ttl"u8, 0);
                json.WriteEndObject();
                json.WriteBoolean("local"u8, false);
                json.WriteBoolean("seal_wrap"u8, false);
                json.WriteNull("options"u8);
                json.WriteEndObject();
            }
        });
    }

    private static async Task EnableAsync(HttpContext context)
    {
        var path = ((context.Request.RouteValues["path"] as string) ?? string.Empty).TrimEnd('/');
        using var body = await TransitBody.ReadAsync(context).ConfigureAwait(false);
        var type = body.String("type");
        if (type is null)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "missing 'type': Rekey serves the 'transit' engine");
        }

        if (type != "transit")
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, $"Rekey serves only the 'transit' secrets engine, not '{type}'");
        }

        var mounts = context.RequestServices.GetRequiredService<TransitMounts>();
        if (!mounts.Contains(path))
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, $"Rekey serves Transit at the mounts its configuration names ({string.Join(", ", mounts.Names)}); add '{path}' to transit_mounts and restart the server");
        }

        // Already serving Transit there: enabling it again is a success that changes nothing.
        VaultResponse.NoContent(context);
    }
}
