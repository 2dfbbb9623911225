using System.Globalization;
using Rekey.Api;
using Rekey.Errors;
using Rekey.Server.Access;
using Rekey.Server.Http;

namespace Rekey.Server.Endpoints;

/// <summary>Keys: create, list, read, update configuration, delete.</summary>
internal static class KeyEndpoints
{
    private const int DefaultPage = 100;
    private const int MaxPage = 1000;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/keys/{**name}", OpenApiMetadata.Handler(CreateAsync)).WithName(EndpointNames.KeyCreate)
            .Body<KeyCreateRequest>().Produces<KeyResource>(StatusCodes.Status201Created);
        app.MapGet("/v1/keys", OpenApiMetadata.Handler(ListAsync)).WithName(EndpointNames.KeyList).Produces<KeyListResponse>();
        app.MapGet("/v1/keys/{**name}", OpenApiMetadata.Handler(ReadAsync)).WithName(EndpointNames.KeyRead).Produces<KeyResource>();
        app.MapMethods("/v1/keys/{**name}", [HttpMethods.Patch], OpenApiMetadata.Handler(UpdateAsync)).WithName(EndpointNames.KeyUpdate)
            .Body<KeyUpdateRequest>().Produces<KeyResource>();
        app.MapDelete("/v1/keys/{**name}", OpenApiMetadata.Handler(DeleteAsync)).WithName(EndpointNames.KeyDelete).Produces(StatusCodes.Status204NoContent);
    }

    private static async Task CreateAsync(HttpContext context)
    {
        var name = context.RouteKey();
        var body = await JsonBody.ReadOptionalAsync(context, ApiJsonContext.Default.KeyCreateRequest, new KeyCreateRequest()).ConfigureAwait(false);
        var service = context.Service();
        var options = new KeyCreateOptions(Seconds(body.DestructionDelaySeconds, "destruction_delay_seconds"), body.DeletionAllowed ?? false);
        var key = await service.CreateKeyAsync(name, options, context.Caller().Change(body.Reason), context.RequestAborted).ConfigureAwait(false);
        var versions = await service.ListVersionsAsync(name, context.RequestAborted).ConfigureAwait(false);
        context.Response.Headers.Location = "/v1/keys/" + name.Value;
        await JsonBody.WriteAsync(context, ApiMapping.ToResource(key, versions), ApiJsonContext.Default.KeyResource, StatusCodes.Status201Created).ConfigureAwait(false);
    }

    private static async Task ListAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var limit = QueryValues.Int(query, "limit", DefaultPage, 1, MaxPage);
        var after = (string?)query["after"];
        var caller = context.Caller();

        // Names are unique and listed in ordinal order, so 'after' is a stable cursor.
        var keys = (await context.Service().ListKeysAsync((string?)query["prefix"], context.RequestAborted).ConfigureAwait(false))
            .Where(k => caller.Covers(k.Name) && (after is null || string.CompareOrdinal(k.Name.Value, after) > 0))
            .Take(limit + 1)
            .ToList();
        var page = keys.Take(limit).Select(k => ApiMapping.ToResource(k, null)).ToList();
        var next = keys.Count > limit ? page[^1].Name : null;
        await JsonBody.WriteAsync(context, new KeyListResponse(page, next), ApiJsonContext.Default.KeyListResponse).ConfigureAwait(false);
    }

    private static async Task ReadAsync(HttpContext context)
    {
        var name = context.RouteKey();
        var service = context.Service();
        var after = QueryValues.Int(context.Request.Query, "versions_after", 0, 0, int.MaxValue);
        var limit = QueryValues.Int(context.Request.Query, "versions_limit", 100, 1, 1000);
        var key = await service.GetKeyAsync(name, context.RequestAborted).ConfigureAwait(false);
        var all = await service.ListVersionsAsync(name, context.RequestAborted).ConfigureAwait(false);

        // A page of versions in version order; next_versions_after continues it.
        var page = all.Where(v => v.Version > after).Take(limit).ToList();
        int? next = page.Count == limit && all[^1].Version > page[^1].Version ? page[^1].Version : null;
        await JsonBody.WriteAsync(context, ApiMapping.ToResource(key, page) with { NextVersionsAfter = next }, ApiJsonContext.Default.KeyResource).ConfigureAwait(false);
    }

    private static async Task UpdateAsync(HttpContext context)
    {
        var name = context.RouteKey();
        var body = await JsonBody.ReadAsync(context, ApiJsonContext.Default.KeyUpdateRequest).ConfigureAwait(false);
        if (body.MinDecryptionVersion is null && body.DestructionDelaySeconds is null && body.DeletionAllowed is null)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "Nothing to update: give min_decryption_version, destruction_delay_seconds or deletion_allowed.");
        }

        if (body.MinDecryptionVersion is < 1)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "'min_decryption_version' must be at least 1.");
        }

        // Every field is checked before the first change, so a bad request changes nothing.
        var delay = Seconds(body.DestructionDelaySeconds, "destruction_delay_seconds");
        var service = context.Service();
        var change = context.Caller().Change(body.Reason);
        Keys.KeyInfo? key = null;
        if (body.MinDecryptionVersion is { } min)
        {
            key = await service.SetMinDecryptionVersionAsync(name, min, change, context.RequestAborted).ConfigureAwait(false);
        }

        if (delay is not null || body.DeletionAllowed is not null)
        {
            key = await service.UpdateKeyAsync(name, new KeyConfigUpdate(delay, body.DeletionAllowed), change, context.RequestAborted).ConfigureAwait(false);
        }

        // The check above guarantees one of the two changes ran.
        var versions = await service.ListVersionsAsync(name, context.RequestAborted).ConfigureAwait(false);
        await JsonBody.WriteAsync(context, ApiMapping.ToResource(key!, versions), ApiJsonContext.Default.KeyResource).ConfigureAwait(false);
    }

    private static async Task DeleteAsync(HttpContext context)
    {
        var name = context.RouteKey();
        await context.Service().DeleteKeyAsync(name, context.Caller().Change(context.Request.Query["reason"]), context.RequestAborted).ConfigureAwait(false);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    /// <summary>A duration given in whole seconds, or null when absent.</summary>
    public static TimeSpan? Seconds(long? seconds, string field) => seconds switch
    {
        null => null,
        < 0 or > 100L * 365 * 24 * 3600 => throw new RekeyException(RekeyErrorCode.InvalidRequest, string.Create(CultureInfo.InvariantCulture, $"'{field}' must be between 0 and {100L * 365 * 24 * 3600} seconds.")),
        { } s => TimeSpan.FromSeconds(s),
    };
}
