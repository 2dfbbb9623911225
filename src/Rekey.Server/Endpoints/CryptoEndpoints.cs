using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Rekey.Api;
using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Server.Access;
using Rekey.Server.Http;
using Rekey.Server.Metrics;

namespace Rekey.Server.Endpoints;

/// <summary>
/// The data plane: encrypt, decrypt, re-wrap and data keys, each as a single call or a batch
/// (<c>items</c> in, <c>results</c> out in the same order). A single call that fails answers with
/// a problem document; a batch answers 200 with each failed item's error in its place.
/// </summary>
internal static class CryptoEndpoints
{
    // Base64 and Rekey's ciphertext text need no escaping beyond JSON's own.
    private static readonly JsonWriterOptions Writer = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/encrypt/{**name}", OpenApiMetadata.Handler(EncryptAsync)).WithName(EndpointNames.Encrypt)
            .Body<EncryptRequest>().Produces<CryptoResult>().Produces<BatchResponse>();
        app.MapPost("/v1/decrypt/{**name}", OpenApiMetadata.Handler(DecryptAsync)).WithName(EndpointNames.Decrypt)
            .Body<DecryptRequest>().Produces<CryptoResult>().Produces<BatchResponse>();
        app.MapPost("/v1/rewrap/{**name}", OpenApiMetadata.Handler(RewrapAsync)).WithName(EndpointNames.Rewrap)
            .Body<RewrapRequest>().Produces<CryptoResult>().Produces<BatchResponse>();
        app.MapPost("/v1/datakey/{**name}", OpenApiMetadata.Handler(DataKeyAsync)).WithName(EndpointNames.DataKey)
            .Body<DataKeyRequest>().Produces<CryptoResult>().Produces<BatchResponse>();
    }

    private static async Task EncryptAsync(HttpContext context)
    {
        var name = context.RouteKey();
        using var body = await EncryptBody.ReadAsync(context).ConfigureAwait(false);
        var service = context.Service();
        await RespondAsync(context, "encrypt", name, body.Items, body.Single, async (item, json) =>
        {
            var plaintext = item.Plaintext();
            try
            {
                var envelope = await service.EncryptAsync(name, plaintext, Context(item.Context), context.RequestAborted).ConfigureAwait(false);
                return WriteEnvelope(json, envelope);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plaintext);
            }
        }).ConfigureAwait(false);
    }

    private static async Task DecryptAsync(HttpContext context)
    {
        var name = context.RouteKey();
        var body = await JsonBody.ReadAsync(context, ApiJsonContext.Default.DecryptRequest).ConfigureAwait(false);
        var service = context.Service();
        await RespondAsync(context, "decrypt", name, body.Items, body.Ciphertext is null && body.Context is null ? null : new DecryptItem(body.Ciphertext, body.Context), async (item, json) =>
        {
            var envelope = Envelope(JsonBody.Required(item.Ciphertext, "ciphertext"));
            var plaintext = await service.DecryptAsync(name, envelope, Context(item.Context), context.RequestAborted).ConfigureAwait(false);
            try
            {
                json.WriteBase64String("plaintext"u8, plaintext);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plaintext);
            }

            var version = EnvelopeReader.ReadVersion(envelope);
            json.WriteNumber("version"u8, version);
            return version;
        }).ConfigureAwait(false);
    }

    private static async Task RewrapAsync(HttpContext context)
    {
        var name = context.RouteKey();
        var body = await JsonBody.ReadAsync(context, ApiJsonContext.Default.RewrapRequest).ConfigureAwait(false);
        var service = context.Service();
        await RespondAsync(context, "rewrap", name, body.Items, body.Ciphertext is null ? null : new RewrapItem(body.Ciphertext), async (item, json) =>
        {
            var envelope = Envelope(JsonBody.Required(item.Ciphertext, "ciphertext"));
            return WriteEnvelope(json, await service.RewrapAsync(name, envelope, context.RequestAborted).ConfigureAwait(false));
        }).ConfigureAwait(false);
    }

    private static async Task DataKeyAsync(HttpContext context)
    {
        var name = context.RouteKey();
        var body = await JsonBody.ReadAsync(context, ApiJsonContext.Default.DataKeyRequest).ConfigureAwait(false);
        var length = body.Bytes ?? 32;
        if (length is < 16 or > 64)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "'bytes' must be from 16 to 64.");
        }

        var service = context.Service();
        var includePlaintext = body.WrappedOnly != true;
        await RespondAsync(context, "datakey", name, body.Items, body.Context is null ? null : new DataKeyItem(body.Context), async (item, json) =>
        {
            using var key = await service.GenerateDataKeyAsync(name, Context(item.Context), includePlaintext, length, context.RequestAborted).ConfigureAwait(false);
            CiphertextJson.WriteRekey(json, "ciphertext"u8, key.Envelope);
            if (key.HasPlaintext)
            {
                json.WriteBase64String("plaintext"u8, key.DangerousPlaintext);
            }

            var version = EnvelopeReader.ReadVersion(key.Envelope);
            json.WriteNumber("version"u8, version);
            return version;
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs the single form or the batch, and writes the matching response (a
    /// <see cref="CryptoResult"/>, or a <see cref="BatchResponse"/>) straight to UTF-8: each
    /// operation writes its result's fields once its work has succeeded and returns the version.
    /// </summary>
    private static async Task RespondAsync<TItem>(HttpContext context, string operationName, KeyName key, IReadOnlyList<TItem?>? items, TItem? single, Func<TItem, Utf8JsonWriter, ValueTask<int>> run)
        where TItem : class
    {
        var tally = new CryptoTally(context.RequestServices.GetRequiredService<RekeyMetrics>(), operationName, key);
        if (items is null)
        {
            var item = single ?? throw new RekeyException(RekeyErrorCode.InvalidRequest, "Give the single form's fields or 'items' for a batch.");
            using var one = new PooledBufferWriter(1024);
            using (var json = new Utf8JsonWriter(one, Writer))
            {
                json.WriteStartObject();
                tally.Add(await run(item, json).ConfigureAwait(false));
                json.WriteEndObject();
            }

            tally.Flush();
            context.Response.ContentType = "application/json; charset=utf-8";
            await one.SendAsync(context).ConfigureAwait(false);
            return;
        }

        if (single is not null)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "Give either the single form's fields or 'items', not both.");
        }

        var max = context.RequestServices.GetRequiredService<Hosting.RekeyServerOptions>().MaxBatchItems;
        if (items.Count == 0 || items.Count > max)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, $"'items' must hold from 1 to {max} items.");
        }

        using var buffer = new PooledBufferWriter((items.Count * 512) + 64);
        var failed = 0;
        try
        {
            using (var json = new Utf8JsonWriter(buffer, Writer))
            {
                json.WriteStartObject();
                json.WriteStartArray("results"u8);
                foreach (var item in items)
                {
                    json.WriteStartObject();
                    try
                    {
                        tally.Add(await run(item ?? throw new RekeyException(RekeyErrorCode.InvalidRequest, "An item is null."), json).ConfigureAwait(false));
                    }
                    catch (RekeyException e)
                    {
                        // Nothing of a failed item's result was written: each operation writes only once its work succeeded.
                        json.WriteStartObject("error"u8);
                        json.WriteString("code"u8, e.Code.ToString());
                        json.WriteString("message"u8, e.Message);
                        json.WriteEndObject();
                        failed++;
                    }

                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteNumber("failed"u8, failed);
                json.WriteEndObject();
            }
        }
        finally
        {
            // Successes before a failure of the whole request (the store, say) were real: count them too.
            tally.Flush();
        }

        context.Response.ContentType = "application/json; charset=utf-8";
        await buffer.SendAsync(context).ConfigureAwait(false);
    }

    /// <summary>Writes <c>ciphertext</c> and <c>version</c> for an envelope; returns the version.</summary>
    private static int WriteEnvelope(Utf8JsonWriter json, byte[] envelope)
    {
        CiphertextJson.WriteRekey(json, "ciphertext"u8, envelope);
        var version = EnvelopeReader.ReadVersion(envelope);
        json.WriteNumber("version"u8, version);
        return version;
    }

    internal static EncryptionContext Context(string? value)
    {
        try
        {
            return EncryptionContext.From(JsonBody.Required(value, "context"));
        }
        catch (ArgumentException e)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "'context' is not valid: " + e.Message);
        }
    }

    /// <summary>
    /// Reads a ciphertext's text form (Rekey's or Vault's). The service then refuses it unless it is under the key in
    /// the path, which is the key the token's scope was checked against.
    /// </summary>
    private static byte[] Envelope(string text)
    {
        // A ciphertext made through the Transit surface decrypts here too.
        if (VaultCiphertext.LooksLikeText(text))
        {
            return VaultCiphertext.TryDecode(text, out _) ?? throw RekeyException.DecryptionFailed();
        }

        try
        {
            return EnvelopeText.Decode(text);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw RekeyException.DecryptionFailed();
        }
    }
}
