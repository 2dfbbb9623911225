using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Rekey.Access;
using Rekey.Api;
using Rekey.Audit;
using Rekey.Errors;
using Rekey.Server.Access;
using Rekey.Server.Http;
using Rekey.Storage;

namespace Rekey.Server.Endpoints;

/// <summary>The audit log: query, verify, signed checkpoints and the signing public keys.</summary>
internal static class AuditEndpoints
{
    private const int StorePage = 1000;

    // A query scans at most this many events per request; the response's next_after continues it.
    private const int MaxScan = 100_000;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/audit/events", OpenApiMetadata.Handler(EventsAsync)).WithName(EndpointNames.AuditEvents).Produces<AuditEventsResponse>();
        app.MapGet("/v1/audit/verify", OpenApiMetadata.Handler(VerifyAsync)).WithName(EndpointNames.AuditVerify).Produces<AuditVerifyResponse>();
        app.MapGet("/v1/audit/checkpoints", OpenApiMetadata.Handler(CheckpointsAsync)).WithName(EndpointNames.AuditCheckpoints).Produces<CheckpointsResponse>();
        app.MapPost("/v1/audit/checkpoints", OpenApiMetadata.Handler(CheckpointAsync)).WithName(EndpointNames.AuditCheckpointCreate)
            .Produces<CheckpointResource>(StatusCodes.Status201Created).Produces(StatusCodes.Status204NoContent);
        app.MapGet("/v1/audit/public-keys", OpenApiMetadata.Handler(PublicKeysAsync)).WithName(EndpointNames.AuditPublicKeys).Produces<PublicKeysResponse>();
        app.MapPost("/v1/audit/signing-keys/rotate", OpenApiMetadata.Handler(RotateSigningKeyAsync)).WithName(EndpointNames.AuditSigningKeyRotate).Produces<SigningKeyRotatedResponse>();
    }

    private static async Task EventsAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var after = QueryValues.Long(query, "after", 0, 0, long.MaxValue);
        var limit = QueryValues.Int(query, "limit", 100, 1, 1000);
        var key = (string?)query["key"];
        var actor = (string?)query["actor"];
        var action = (string?)query["action"];
        var since = QueryValues.Time(query, "since");
        var until = QueryValues.Time(query, "until");
        var token = context.Caller().Token!;
        var seesAll = token.Patterns.Contains(KeyPattern.All);

        bool Matches(AuditEvent e)
        {
            var r = e.Record;
            // A token with '*' sees every event, those whose key field is not a valid name included
            // (refusals of malformed requests); others see the events of keys they cover.
            var visible = seesAll || (r.Key is not null && Keys.KeyName.TryParse(r.Key, out var k) && token.Covers(k));
            return visible
                && (key is null || r.Key == key)
                && (actor is null || r.Actor == actor)
                && (action is null || r.Action == action)
                && (since is null || r.Time >= since)
                && (until is null || r.Time < until);
        }

        var found = new List<AuditEventResource>(limit);
        var service = context.Service();
        var position = after;
        var scanned = 0;
        long? next = null;
        while (true)
        {
            var page = await service.ReadAuditAsync(position, StorePage, context.RequestAborted).ConfigureAwait(false);
            foreach (var e in page)
            {
                position = e.Sequence;
                scanned++;
                if (Matches(e))
                {
                    found.Add(ApiMapping.ToResource(e));
                    if (found.Count == limit)
                    {
                        break;
                    }
                }
            }

            if (page.Count < StorePage && found.Count < limit)
            {
                break;
            }

            if (found.Count == limit || scanned >= MaxScan)
            {
                next = position;
                break;
            }
        }

        await JsonBody.WriteAsync(context, new AuditEventsResponse(found, next), ApiJsonContext.Default.AuditEventsResponse).ConfigureAwait(false);
    }

    private static async Task VerifyAsync(HttpContext context)
    {
        AuditHead? head = null;
        if ((string?)context.Request.Query["head"] is { } text)
        {
            try
            {
                head = AuditHead.Parse(text);
            }
            catch (FormatException e)
            {
                throw new RekeyException(RekeyErrorCode.InvalidRequest, e.Message);
            }
        }

        var pinned = new List<byte[]>();
        foreach (var value in context.Request.Query["public_key"])
        {
            pinned.Add(ParsePublicKey(value));
        }

        // The server's own file witness, when it has one, is read on every verify.
        var options = context.RequestServices.GetRequiredService<Hosting.RekeyServerOptions>();
        IReadOnlyList<AuditCheckpoint>? witnessed = null;
        if (options.AuditWitness is { } witness && witness != FileAuditWitness.StandardOutput && File.Exists(witness))
        {
            try
            {
                witnessed = AuditWitnessLine.ReadFile(witness);
            }
            catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
            {
                // A witness that cannot be read whole vouches for nothing: that is the verdict, not a server fault.
                var unreadable = new AuditVerification(false, 0, null, null, "The server's audit witness file cannot be read: " + e.Message);
                await JsonBody.WriteAsync(context, ApiMapping.ToResource(unreadable), ApiJsonContext.Default.AuditVerifyResponse).ConfigureAwait(false);
                return;
            }
        }

        var verdict = await context.Service().VerifyAuditAsync(new AuditVerifyOptions(head, pinned, witnessed), context.RequestAborted).ConfigureAwait(false);
        await JsonBody.WriteAsync(context, ApiMapping.ToResource(verdict), ApiJsonContext.Default.AuditVerifyResponse).ConfigureAwait(false);
    }

    private static async Task CheckpointsAsync(HttpContext context)
    {
        var store = context.RequestServices.GetRequiredService<IAuditCheckpointStore>();
        var checkpoints = await store.GetCheckpointsAsync(context.RequestAborted).ConfigureAwait(false);
        await JsonBody.WriteAsync(context, new CheckpointsResponse(checkpoints.Select(ApiMapping.ToResource).ToList()), ApiJsonContext.Default.CheckpointsResponse).ConfigureAwait(false);
    }

    private static async Task CheckpointAsync(HttpContext context)
    {
        var checkpoint = await context.Service().CheckpointAuditAsync(context.Caller().Change(null), context.RequestAborted).ConfigureAwait(false);
        if (checkpoint is null)
        {
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }

        await JsonBody.WriteAsync(context, ApiMapping.ToResource(checkpoint), ApiJsonContext.Default.CheckpointResource, StatusCodes.Status201Created).ConfigureAwait(false);
    }

    private static async Task RotateSigningKeyAsync(HttpContext context)
    {
        var rotated = await context.Service().RotateAuditSigningKeyAsync(context.Caller().Change(null), context.RequestAborted).ConfigureAwait(false);
        var keys = await context.Service().GetAuditPublicKeysAsync(context.RequestAborted).ConfigureAwait(false);
        var response = new SigningKeyRotatedResponse(rotated.KeyId, Convert.ToBase64String(keys[rotated.KeyId]), ApiMapping.ToResource(rotated.Checkpoint));
        await JsonBody.WriteAsync(context, response, ApiJsonContext.Default.SigningKeyRotatedResponse).ConfigureAwait(false);
    }

    // A pinned key arrives as base64 of its SubjectPublicKeyInfo DER; anything else is the caller's mistake.
    private static byte[] ParsePublicKey(string? value)
    {
        try
        {
            var der = Convert.FromBase64String(value ?? string.Empty);
            using var probe = ECDsa.Create();
            probe.ImportSubjectPublicKeyInfo(der, out _);
            return der;
        }
        catch (Exception e) when (e is FormatException or CryptographicException)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "'public_key' must be the base64 of a P-256 SubjectPublicKeyInfo (DER).");
        }
    }

    private static async Task PublicKeysAsync(HttpContext context)
    {
        var keys = await context.Service().GetAuditPublicKeysAsync(context.RequestAborted).ConfigureAwait(false);
        var resources = keys.Select(k => new PublicKeyResource(k.Key, Convert.ToBase64String(k.Value), PemEncoding.WriteString("PUBLIC KEY", k.Value))).ToList();
        await JsonBody.WriteAsync(context, new PublicKeysResponse(resources), ApiJsonContext.Default.PublicKeysResponse).ConfigureAwait(false);
    }
}
