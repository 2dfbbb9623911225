using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Rekey.Api;
using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Server.Access;
using Rekey.Server.Http;

namespace Rekey.Server.Endpoints;

/// <summary>
/// The data plane: encrypt, decrypt, re-wrap and data keys, each as a single call or a batch
/// (<c>items</c> in, <c>results</c> out in the same order). A single call that fails answers with
/// a problem document; a batch answers 200 with each failed item's error in its place.
/// </summary>
internal static class CryptoEndpoints
{
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
        var body = await JsonBody.ReadAsync(context, ApiJsonContext.Default.EncryptRequest).ConfigureAwait(false);
        var service = context.Service();
        await RespondAsync(context, "encrypt", name, body.Items, body.Plaintext is null && body.Context is null ? null : new EncryptItem(body.Plaintext, body.Context), async item =>
        {
            var plaintext = JsonBody.Base64(JsonBody.Required(item.Plaintext, "plaintext"), "plaintext");
            try
            {
                var envelope = await service.EncryptAsync(name, plaintext, Context(item.Context), context.RequestAborted).ConfigureAwait(false);
                return new CryptoResult(Ciphertext: EnvelopeText.Encode(envelope), Version: EnvelopeReader.ReadVersion(envelope));
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
        await RespondAsync(context, "decrypt", name, body.Items, body.Ciphertext is null && body.Context is null ? null : new DecryptItem(body.Ciphertext, body.Context), async item =>
        {
            var envelope = Envelope(JsonBody.Required(item.Ciphertext, "ciphertext"));
            var plaintext = await service.DecryptAsync(name, envelope, Context(item.Context), context.RequestAborted).ConfigureAwait(false);
            try
            {
                return new CryptoResult(Plaintext: Convert.ToBase64String(plaintext), Version: EnvelopeReader.ReadVersion(envelope));
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plaintext);
            }
        }).ConfigureAwait(false);
    }

    private static async Task RewrapAsync(HttpContext context)
    {
        var name = context.RouteKey();
        var body = await JsonBody.ReadAsync(context, ApiJsonContext.Default.RewrapRequest).ConfigureAwait(false);
        var service = context.Service();
        await RespondAsync(context, "rewrap", name, body.Items, body.Ciphertext is null ? null : new RewrapItem(body.Ciphertext), async item =>
        {
            var envelope = Envelope(JsonBody.Required(item.Ciphertext, "ciphertext"));
            var rewrapped = await service.RewrapAsync(name, envelope, context.RequestAborted).ConfigureAwait(false);
            return new CryptoResult(Ciphertext: EnvelopeText.Encode(rewrapped), Version: EnvelopeReader.ReadVersion(rewrapped));
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
        await RespondAsync(context, "datakey", name, body.Items, body.Context is null ? null : new DataKeyItem(body.Context), async item =>
        {
            using var key = await service.GenerateDataKeyAsync(name, Context(item.Context), includePlaintext, length, context.RequestAborted).ConfigureAwait(false);
            return new CryptoResult(
                Ciphertext: EnvelopeText.Encode(key.Envelope),
                Plaintext: key.HasPlaintext ? Convert.ToBase64String(key.DangerousPlaintext) : null,
                Version: EnvelopeReader.ReadVersion(key.Envelope));
        }).ConfigureAwait(false);
    }

    /// <summary>Runs the single form or the batch, and writes the matching response.</summary>
    private static async Task RespondAsync<TItem>(HttpContext context, string operationName, KeyName key, IReadOnlyList<TItem>? items, TItem? single, Func<TItem, ValueTask<CryptoResult>> run)
        where TItem : class
    {
        var metrics = context.RequestServices.GetRequiredService<Metrics.RekeyMetrics>();
        async ValueTask<CryptoResult> operation(TItem item)
        {
            var result = await run(item).ConfigureAwait(false);
            metrics.Crypto(operationName, key, result.Version ?? 0);
            return result;
        }

        if (items is null)
        {
            var result = await operation(single ?? throw new RekeyException(RekeyErrorCode.InvalidRequest, "Give the single form's fields or 'items' for a batch.")).ConfigureAwait(false);
            await JsonBody.WriteAsync(context, result, ApiJsonContext.Default.CryptoResult).ConfigureAwait(false);
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

        var results = new CryptoResult[items.Count];
        var failed = 0;
        for (var i = 0; i < items.Count; i++)
        {
            try
            {
                results[i] = await operation(items[i] ?? throw new RekeyException(RekeyErrorCode.InvalidRequest, "An item is null.")).ConfigureAwait(false);
            }
            catch (RekeyException e)
            {
                results[i] = new CryptoResult(Error: new ItemError(e.Code.ToString(), e.Message));
                failed++;
            }
        }

        await JsonBody.WriteAsync(context, new BatchResponse(results, failed), ApiJsonContext.Default.BatchResponse).ConfigureAwait(false);
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
