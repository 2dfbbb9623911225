using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Rekey.Access;
using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Server.Access;
using Rekey.Server.Http;
using Rekey.Server.Surfaces;

namespace Rekey.Server.Transit;

/// <summary>
/// Transit's data plane: <c>encrypt</c>, <c>decrypt</c>, <c>rewrap</c> (each single or as a
/// <c>batch_input</c>) and <c>datakey</c>, answered with Vault's fields and status rules and
/// carried out by the same service as <c>/v1</c>, so a ciphertext made through either API
/// decrypts through the other.
/// </summary>
/// <remarks>
/// Batch status, as Vault sets it: 200 when every item succeeded; otherwise 400 when any item
/// failed for the request's sake, or 500 when only the server failed; with at least one success,
/// <c>partial_failure_response_code</c> (1 to 599) replaces that code.
/// </remarks>
internal static class TransitCryptoEndpoints
{
    public static void Map(IEndpointRouteBuilder app, TransitMounts mounts)
    {
        mounts.Map(app, EndpointNames.TransitEncrypt, "/encrypt/{name}", EncryptAsync, TransitMounts.Writes);
        mounts.Map(app, EndpointNames.TransitDecrypt, "/decrypt/{name}", DecryptAsync, TransitMounts.Writes);
        mounts.Map(app, EndpointNames.TransitRewrap, "/rewrap/{name}", RewrapAsync, TransitMounts.Writes);
        mounts.Map(app, EndpointNames.TransitDataKey, "/datakey/{type}/{name}", DataKeyAsync, TransitMounts.Writes);
    }

    private static async Task EncryptAsync(HttpContext context)
    {
        var name = context.RouteKey();
        using var body = await TransitBody.ReadAsync(context).ConfigureAwait(false);
        var service = context.Service();
        var tally = new Metrics.CryptoTally(context.RequestServices.GetRequiredService<Metrics.RekeyMetrics>(), "encrypt", name);
        var versions = new RequestedVersions(context, name);
        var created = false;
        await RunAsync(context, body, tally, "plaintext", "missing plaintext to encrypt", async (item, json) =>
        {
            RefuseNonce(item);
            var plaintext = Plaintext(item);
            try
            {
                var encryptionContext = TransitContext.For(TransitBody.String(item, "associated_data"));
                await versions.CheckAsync(TransitBody.Integer(item, "key_version")).ConfigureAwait(false);
                byte[] envelope;
                try
                {
                    envelope = await service.EncryptAsync(name, plaintext, encryptionContext, context.RequestAborted).ConfigureAwait(false);
                }
                catch (RekeyException e) when (e.Code == RekeyErrorCode.KeyNotFound && !created)
                {
                    // Vault creates the key on first encrypt for a caller allowed to create keys.
                    await UpsertAsync(context, body, item, name).ConfigureAwait(false);
                    created = true;
                    envelope = await service.EncryptAsync(name, plaintext, encryptionContext, context.RequestAborted).ConfigureAwait(false);
                }

                var version = EnvelopeReader.ReadVersion(envelope);
                WriteCiphertext(json, envelope, version);
                tally.Add(version);
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
        using var body = await TransitBody.ReadAsync(context).ConfigureAwait(false);
        var service = context.Service();
        var tally = new Metrics.CryptoTally(context.RequestServices.GetRequiredService<Metrics.RekeyMetrics>(), "decrypt", name);
        await RunAsync(context, body, tally, "ciphertext", "missing ciphertext to decrypt", async (item, json) =>
        {
            RefuseNonce(item);
            var envelope = Envelope(TransitBody.String(item, "ciphertext"));
            var encryptionContext = TransitContext.For(TransitBody.String(item, "associated_data"));
            // A key that does not exist fails as any ciphertext that does not decrypt, never as
            // Vault's "encryption key not found": decrypting never tells whether a key exists.
            var plaintext = await service.DecryptAsync(name, envelope, encryptionContext, context.RequestAborted).ConfigureAwait(false);

            try
            {
                json.WriteBase64String("plaintext"u8, plaintext);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plaintext);
            }

            tally.Add(EnvelopeReader.ReadVersion(envelope));
        }).ConfigureAwait(false);
    }

    private static async Task RewrapAsync(HttpContext context)
    {
        var name = context.RouteKey();
        using var body = await TransitBody.ReadAsync(context).ConfigureAwait(false);
        var service = context.Service();
        var tally = new Metrics.CryptoTally(context.RequestServices.GetRequiredService<Metrics.RekeyMetrics>(), "rewrap", name);
        var versions = new RequestedVersions(context, name);
        await RunAsync(context, body, tally, "ciphertext", "missing ciphertext to rewrap", async (item, json) =>
        {
            RefuseNonce(item);
            var envelope = Envelope(TransitBody.String(item, "ciphertext"));
            await versions.CheckAsync(TransitBody.Integer(item, "key_version")).ConfigureAwait(false);
            var rewrapped = await KeyMustExist(service.RewrapAsync(name, envelope, context.RequestAborted)).ConfigureAwait(false);
            var version = EnvelopeReader.ReadVersion(rewrapped);
            WriteCiphertext(json, rewrapped, version);
            tally.Add(version);
        }).ConfigureAwait(false);
    }

    private static async Task DataKeyAsync(HttpContext context)
    {
        var name = context.RouteKey();
        var type = context.Request.RouteValues["type"] as string;
        if (type is not ("plaintext" or "wrapped"))
        {
            throw Invalid("invalid type: the data key type is 'plaintext' or 'wrapped'");
        }

        using var body = await TransitBody.ReadAsync(context).ConfigureAwait(false);
        RefuseNonce(body.Root);
        var length = body.Integer("bits") switch
        {
            null or 256 => 32,
            128 => 16,
            512 => 64,
            _ => throw Invalid("invalid bits length: use 128, 256 or 512"),
        };
        var encryptionContext = TransitContext.For(body.String("associated_data"));
        var service = context.Service();
        using var key = await KeyMustExist(service.GenerateDataKeyAsync(name, encryptionContext, type == "plaintext", length, context.RequestAborted)).ConfigureAwait(false);
        var version = EnvelopeReader.ReadVersion(key.Envelope);
        context.RequestServices.GetRequiredService<Metrics.RekeyMetrics>().Crypto("datakey", name, version);
        using var response = VaultResponse.Start(context);
        WriteCiphertext(response.Data, key.Envelope, version);
        if (key.HasPlaintext)
        {
            response.Data.WriteBase64String("plaintext"u8, key.DangerousPlaintext);
        }

        await response.FinishAsync(null).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs the single form or each item of <c>batch_input</c>, writing each result's fields, and
    /// answers with Vault's envelope and status. <paramref name="run"/> writes a success's fields
    /// and throws <see cref="RekeyException"/> for a failure; a request-level failure (the key
    /// missing, say) is thrown as <see cref="RequestFailure"/> and answers the whole request.
    /// </summary>
    private static async Task RunAsync(HttpContext context, TransitBody body, Metrics.CryptoTally tally, string singleField, string missingSingle, Func<JsonElement, Utf8JsonWriter, ValueTask> run)
    {
        var warnings = new List<string>();
        if (!TransitBody.Has(body.Root, "batch_input"))
        {
            if (!body.Has(singleField))
            {
                throw Invalid(missingSingle);
            }

            using var single = VaultResponse.Start(context);
            await run(body.Root, single.Data).ConfigureAwait(false);
            tally.Flush();
            await single.FinishAsync(warnings).ConfigureAwait(false);
            return;
        }

        var items = body.Root.GetProperty("batch_input");
        if (items.ValueKind != JsonValueKind.Array)
        {
            throw Invalid("failed to parse batch input: 'batch_input' must be a list of objects");
        }

        var max = context.RequestServices.GetRequiredService<Hosting.RekeyServerOptions>().MaxBatchItems;
        var count = items.GetArrayLength();
        if (count == 0)
        {
            throw Invalid("missing batch input to process");
        }

        if (count > max)
        {
            throw Invalid(string.Create(CultureInfo.InvariantCulture, $"batch_input holds {count} items; this server takes at most {max} (max_batch_items)"));
        }

        // Vault's rule: the derivation context is in every item or in none.
        var withContext = -1;
        foreach (var item in items.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw Invalid("failed to parse batch input: every item of 'batch_input' must be an object");
            }

            var has = TransitBody.String(item, "context") is { Length: > 0 } ? 1 : 0;
            if (withContext >= 0 && has != withContext)
            {
                throw Invalid("context should be set either in all the request blocks or in none");
            }

            withContext = has;
        }

        using var response = VaultResponse.Start(context, (count * 420) + 512);
        var json = response.Data;
        bool successes = false, userErrors = false, internalErrors = false;
        json.WriteStartArray("batch_results"u8);
        try
        {
            foreach (var item in items.EnumerateArray())
            {
                json.WriteStartObject();
                try
                {
                    await run(item, json).ConfigureAwait(false);
                    successes = true;
                }
                catch (RekeyException e) when (e.Code != RekeyErrorCode.ApprovalPending && !IsRequestFailure(e))
                {
                    // Nothing of a failed item's result was written: each operation writes only once its work succeeded.
                    json.WriteString("error"u8, e.Message);
                    internalErrors |= VaultSurface.IsInternal(e.Code);
                    userErrors |= !VaultSurface.IsInternal(e.Code);
                }

                json.WriteString("reference"u8, TransitBody.String(item, "reference") ?? string.Empty);
                json.WriteEndObject();
            }
        }
        finally
        {
            // Successes before a failure of the whole request were real: count them too.
            tally.Flush();
        }

        json.WriteEndArray();
        var status = StatusCodes.Status200OK;
        if (userErrors || internalErrors)
        {
            status = userErrors ? StatusCodes.Status400BadRequest : StatusCodes.Status500InternalServerError;
            if (successes && body.Integer("partial_failure_response_code") is { } code)
            {
                if (code is >= 1 and <= 599)
                {
                    status = (int)code;
                }
                else
                {
                    warnings.Add(string.Create(CultureInfo.InvariantCulture, $"invalid HTTP response code override from partial_failure_response_code, reverting to {status}"));
                }
            }
        }

        await response.FinishAsync(warnings, status).ConfigureAwait(false);
    }

    /// <summary>Writes <c>ciphertext</c> (<c>vault:v&lt;N&gt;:&lt;base64&gt;</c>) and <c>key_version</c>.</summary>
    private static void WriteCiphertext(Utf8JsonWriter json, ReadOnlySpan<byte> envelope, int version)
    {
        CiphertextJson.WriteVault(json, "ciphertext"u8, envelope);
        json.WriteNumber("key_version"u8, version);
    }

    /// <summary>A ciphertext in Vault's form or Rekey's; a malformed one is the item's error.</summary>
    private static byte[] Envelope(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            throw Invalid("missing ciphertext to decrypt");
        }

        if (VaultCiphertext.LooksLikeText(text))
        {
            return VaultCiphertext.TryDecode(text, out var problem) ?? throw Invalid(problem!);
        }

        if (EnvelopeText.LooksLikeText(text))
        {
            try
            {
                return EnvelopeText.Decode(text);
            }
            catch (RekeyException)
            {
                throw Invalid("invalid ciphertext: a malformed Rekey ciphertext");
            }
        }

        throw Invalid("invalid ciphertext: no prefix");
    }

    // The plaintext's bytes, decoded straight from the request's UTF-8 (no string in between).
    private static byte[] Plaintext(JsonElement item)
    {
        if (!item.TryGetProperty("plaintext", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            throw Invalid("missing plaintext to encrypt");
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw Invalid("'plaintext' must be a string");
        }

        return value.TryGetBytesFromBase64(out var bytes) ? bytes : throw Invalid("'plaintext' is not valid base64");
    }

    private static void RefuseNonce(JsonElement item)
    {
        if (TransitBody.String(item, "nonce") is { Length: > 0 })
        {
            throw Invalid("nonce is not supported by Rekey: it only applies to convergent encryption, which Rekey does not do");
        }
    }

    // Vault looks the key up before any item: a missing key fails the whole request with a 400.
    private static async ValueTask<T> KeyMustExist<T>(ValueTask<T> operation)
    {
        try
        {
            return await operation.ConfigureAwait(false);
        }
        catch (RekeyException e) when (e.Code == RekeyErrorCode.KeyNotFound)
        {
            throw RequestFailure("encryption key not found");
        }
    }

    // Encrypting under a key that does not exist creates it, as Vault does, when the token may create keys.
    private static async Task UpsertAsync(HttpContext context, TransitBody body, JsonElement item, KeyName name)
    {
        var caller = context.Caller();
        if (caller.Token is not { } token || !EndpointPolicy.Rules[EndpointNames.TransitKeyCreate].Roles.Overlaps(token.Roles))
        {
            throw RequestFailure($"encryption key not found: '{name}' does not exist, and this token may not create keys (a key officer creates it with POST keys/{name})");
        }

        if (TransitBody.String(item, "context") is { Length: > 0 })
        {
            throw RequestFailure("derived keys are not supported by Rekey: create the key without 'context' (bind records with associated_data instead)");
        }

        if (body.Boolean("convergent_encryption") == true)
        {
            throw RequestFailure("convergent encryption is not supported by Rekey");
        }

        if (body.String("type") is { } type && type != TransitKeyView.KeyType)
        {
            throw RequestFailure($"key type {type} is not supported by Rekey: its keys are {TransitKeyView.KeyType}");
        }

        try
        {
            await context.Service().CreateKeyAsync(name, new KeyCreateOptions(), caller.Change("created by a Transit encrypt"), context.RequestAborted).ConfigureAwait(false);
        }
        catch (RekeyException e) when (e.Code == RekeyErrorCode.KeyExists)
        {
            // Another request created it in the meantime: encrypt under it.
        }
    }

    private static RekeyException Invalid(string message) => new(RekeyErrorCode.InvalidRequest, message);

    // A failure of the whole request, not of one item (the key missing, say): it ends a batch
    // with a 400 carrying Vault's message instead of becoming the item's error.
    private const string RequestLevel = "transit.request_level";

    private static RekeyException RequestFailure(string message)
    {
        var failure = Invalid(message);
        failure.Data[RequestLevel] = true;
        return failure;
    }

    private static bool IsRequestFailure(RekeyException e) => e.Data.Contains(RequestLevel);

    /// <summary>
    /// Checks <c>key_version</c> on encrypt and rewrap: Rekey encrypts only under the Active
    /// version, so any other version is refused. The key is read once per request, and only when
    /// an item names a version.
    /// </summary>
    private sealed class RequestedVersions(HttpContext context, KeyName name)
    {
        private int? _active;

        public async ValueTask CheckAsync(long? requested)
        {
            if (requested is null or 0)
            {
                return;
            }

            _active ??= (await KeyMustExist(new ValueTask<KeyInfo>(context.Service().GetKeyAsync(name, context.RequestAborted))).ConfigureAwait(false)).ActiveVersion;
            if (requested > _active)
            {
                throw Invalid("requested version for encryption is higher than the latest key version");
            }

            if (requested != _active)
            {
                throw Invalid(string.Create(CultureInfo.InvariantCulture, $"Rekey encrypts only under the key's latest version ({_active}); key_version {requested} is older (set min_encryption_version as you like: it always holds)"));
            }
        }
    }
}
