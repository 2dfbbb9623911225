using System.Security.Cryptography;
using Rekey.Api;
using Rekey.Envelope;
using Rekey.Files;
using Rekey.Server.Access;
using Rekey.Server.Http;

namespace Rekey.Server.Endpoints;

/// <summary>
/// Encrypted files' headers, for clients that do not parse them: unwrap a file's data key (the
/// client decrypts the segments itself) and re-wrap a header under the Active version. The data
/// never reaches the server. Scoped and counted like the other crypto endpoints.
/// </summary>
internal static class FileEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/files/unwrap/{**name}", OpenApiMetadata.Handler(UnwrapAsync)).WithName(EndpointNames.FileUnwrap)
            .Body<FileHeaderRequest>().Produces<FileHeaderResult>();
        app.MapPost("/v1/files/rewrap/{**name}", OpenApiMetadata.Handler(RewrapAsync)).WithName(EndpointNames.FileRewrap)
            .Body<FileHeaderRequest>().Produces<FileHeaderResult>();
    }

    private static async Task UnwrapAsync(HttpContext context)
    {
        var name = context.RouteKey();
        var body = await JsonBody.ReadAsync(context, ApiJsonContext.Default.FileHeaderRequest).ConfigureAwait(false);
        var header = Header(body);
        var envelope = RekeyFileStreams.ActiveEnvelope(header, out _).ToArray();
        var version = EnvelopeReader.EnsureUnder(envelope, name);
        var dataKey = await context.Service().DecryptAsync(name, envelope, CryptoEndpoints.Context(body.Context), context.RequestAborted).ConfigureAwait(false);
        try
        {
            context.Response.Headers.CacheControl = "no-store";
            await JsonBody.WriteAsync(context, new FileHeaderResult(version, DataKey: Convert.ToBase64String(dataKey)), ApiJsonContext.Default.FileHeaderResult).ConfigureAwait(false);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    private static async Task RewrapAsync(HttpContext context)
    {
        var name = context.RouteKey();
        var body = await JsonBody.ReadAsync(context, ApiJsonContext.Default.FileHeaderRequest).ConfigureAwait(false);
        var header = Header(body);
        var envelope = RekeyFileStreams.ActiveEnvelope(header, out _).ToArray();
        var before = EnvelopeReader.EnsureUnder(envelope, name);
        var rewrapped = await context.Service().RewrapAsync(name, envelope, context.RequestAborted).ConfigureAwait(false);
        var after = EnvelopeReader.ReadVersion(rewrapped);
        if (after != before)
        {
            FileLayout.WriteNextSlot(header, rewrapped);
        }

        await JsonBody.WriteAsync(context, new FileHeaderResult(after, Header: Convert.ToBase64String(header)), ApiJsonContext.Default.FileHeaderResult).ConfigureAwait(false);
    }

    private static byte[] Header(FileHeaderRequest body)
    {
        var bytes = JsonBody.Base64(JsonBody.Required(body.Header, "header"), "header");
        return bytes.Length < FileLayout.HeaderSize
            ? throw new Errors.RekeyException(Errors.RekeyErrorCode.InvalidRequest, $"'header' must hold the file's first {FileLayout.HeaderSize} bytes.")
            : bytes[..FileLayout.HeaderSize];
    }
}
