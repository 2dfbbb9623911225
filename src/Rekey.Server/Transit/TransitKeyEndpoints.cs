using System.Collections.Frozen;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Rekey.Access;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Lifecycle;
using Rekey.Server.Access;
using Rekey.Server.Http;
using Rekey.Server.Surfaces;

namespace Rekey.Server.Transit;

/// <summary>
/// Transit's key management (<c>/v1/&lt;mount&gt;/keys...</c>): create, read, list, delete,
/// config, rotate and trim, carried out by Rekey's key manager and lifecycle policies, so every
/// change is audited and held for approval exactly as through <c>/v1</c>.
/// </summary>
internal static class TransitKeyEndpoints
{
    private static readonly FrozenSet<string> CreateFields = FrozenSet.ToFrozenSet(["type", "derived", "convergent_encryption", "exportable", "allow_plaintext_backup", "auto_rotate_period", "key_size"]);
    private static readonly FrozenSet<string> ConfigFields = FrozenSet.ToFrozenSet(["min_decryption_version", "min_encryption_version", "deletion_allowed", "exportable", "allow_plaintext_backup", "auto_rotate_period"]);
    private static readonly FrozenSet<string> TrimFields = FrozenSet.ToFrozenSet(["min_available_version"]);

    // Vault's other key types, refused by name so a client learns why rather than "unknown type".
    private static readonly FrozenSet<string> OtherVaultTypes = FrozenSet.ToFrozenSet(
        ["aes128-gcm96", "chacha20-poly1305", "xchacha20-poly1305", "ed25519", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-2048", "rsa-3072", "rsa-4096", "hmac", "managed_key", "aes128-cmac", "aes256-cmac"]);

    public static void Map(IEndpointRouteBuilder app, TransitMounts mounts)
    {
        mounts.Map(app, EndpointNames.TransitKeyCreate, "/keys/{name}", CreateAsync, TransitMounts.Writes);
        mounts.Map(app, EndpointNames.TransitKeyRead, "/keys/{name}", ReadAsync, HttpMethods.Get);
        mounts.Map(app, EndpointNames.TransitKeyDelete, "/keys/{name}", DeleteAsync, HttpMethods.Delete);
        mounts.Map(app, EndpointNames.TransitKeyList, "/keys", ListAsync, "LIST", HttpMethods.Get);
        mounts.Map(app, EndpointNames.TransitKeyConfig, "/keys/{name}/config", ConfigAsync, TransitMounts.Writes);
        mounts.Map(app, EndpointNames.TransitKeyRotate, "/keys/{name}/rotate", RotateAsync, TransitMounts.Writes);
        mounts.Map(app, EndpointNames.TransitKeyTrim, "/keys/{name}/trim", TrimAsync, TransitMounts.Writes);
    }

    private static async Task CreateAsync(HttpContext context)
    {
        var name = context.RouteKey();
        using var body = await TransitBody.ReadAsync(context).ConfigureAwait(false);
        var type = body.String("type") ?? TransitKeyView.KeyType;
        if (type != TransitKeyView.KeyType)
        {
            throw Invalid(OtherVaultTypes.Contains(type)
                ? $"key type {type} is not supported by Rekey: its keys are aes256-gcm96 (envelope encryption under AES-256-GCM)"
                : $"unknown key type {type}");
        }

        RefuseUnsupported(body);
        if (body.Boolean("derived") == true)
        {
            throw Invalid("derived keys are not supported by Rekey: a ciphertext is bound to its record by associated_data instead (see docs/vault-compat.md)");
        }

        if (body.Boolean("convergent_encryption") == true)
        {
            throw Invalid("convergent encryption is not supported by Rekey: every encryption uses a fresh data key and nonce");
        }

        if (body.Has("key_size"))
        {
            throw Invalid($"key_size is not valid for algorithm {TransitKeyView.KeyType}");
        }

        var period = AutoRotatePeriod(body);
        var service = context.Service();
        var change = context.Caller().Change(null);
        var warnings = new List<string>();
        try
        {
            await service.CreateKeyAsync(name, new KeyCreateOptions(), change, context.RequestAborted).ConfigureAwait(false);
        }
        catch (RekeyException e) when (e.Code == RekeyErrorCode.KeyExists)
        {
            warnings.Add($"key {name} already existed");
        }

        if (period is { } p)
        {
            await SetRotatePeriodAsync(context, name, p).ConfigureAwait(false);
        }

        await WriteViewAsync(context, name, body, CreateFields, warnings).ConfigureAwait(false);
    }

    private static async Task ReadAsync(HttpContext context)
    {
        var name = context.RouteKey();
        try
        {
            await WriteViewAsync(context, name, null, FrozenSet<string>.Empty).ConfigureAwait(false);
        }
        catch (RekeyException e) when (e.Code == RekeyErrorCode.KeyNotFound && !context.Response.HasStarted)
        {
            // Vault answers a read of nothing with a bare 404.
            await VaultSurface.WriteErrorsAsync(context, StatusCodes.Status404NotFound, []).ConfigureAwait(false);
        }
    }

    private static async Task ListAsync(HttpContext context)
    {
        if (!HttpMethods.Equals(context.Request.Method, "LIST") && context.Request.Query["list"] is not ["true" or "1"])
        {
            await VaultSurface.WriteErrorsAsync(context, StatusCodes.Status405MethodNotAllowed, ["1 error occurred:\n\t* unsupported operation\n\n"]).ConfigureAwait(false);
            return;
        }

        var caller = context.Caller();

        // Transit addresses a key by one path segment, so keys with '/' in their names are left out.
        var names = (await context.Service().ListKeysAsync(null, context.RequestAborted).ConfigureAwait(false))
            .Select(k => k.Name)
            .Where(n => caller.Covers(n) && !n.Value.Contains('/', StringComparison.Ordinal))
            .Select(n => n.Value)
            .ToList();
        if (names.Count == 0)
        {
            await VaultSurface.WriteErrorsAsync(context, StatusCodes.Status404NotFound, []).ConfigureAwait(false);
            return;
        }

        await VaultResponse.WriteAsync(context, json =>
        {
            json.WriteStartArray("keys"u8);
            foreach (var name in names)
            {
                json.WriteStringValue(name);
            }

            json.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private static async Task DeleteAsync(HttpContext context)
    {
        var name = context.RouteKey();
        try
        {
            await context.Service().DeleteKeyAsync(name, context.Caller().Change(null), context.RequestAborted).ConfigureAwait(false);
        }
        catch (RekeyException e) when (e.Code == RekeyErrorCode.PolicyViolation)
        {
            throw Invalid($"error deleting policy {name}: deletion is not allowed for this policy ({e.Message})");
        }

        // Vault's auto_rotate_period goes with its key: the policy on exactly this name, if any, too.
        var pattern = KeyPattern.Parse(name.Value);
        if ((await Policies(context).ListAsync(context.RequestAborted).ConfigureAwait(false)).Any(p => p.Pattern == pattern.Value))
        {
            await Policies(context).UnsetAsync(pattern, context.Caller().Change("the key was deleted through Transit"), context.RequestAborted).ConfigureAwait(false);
        }

        VaultResponse.NoContent(context);
    }

    private static async Task ConfigAsync(HttpContext context)
    {
        var name = context.RouteKey();
        using var body = await TransitBody.ReadAsync(context).ConfigureAwait(false);
        var service = context.Service();
        var key = await service.GetKeyAsync(name, context.RequestAborted).ConfigureAwait(false);

        // Every field is checked before the first change, so a bad request changes nothing.
        RefuseUnsupported(body);
        var minDecryption = Version(body, "min_decryption_version");
        if (minDecryption is 0)
        {
            minDecryption = null; // Vault's "leave as it is"
        }

        if (minDecryption > key.ActiveVersion)
        {
            throw Invalid(string.Create(CultureInfo.InvariantCulture, $"cannot set min decryption version of {minDecryption}, latest key version is {key.ActiveVersion}"));
        }

        var minEncryption = Version(body, "min_encryption_version");
        if (minEncryption > key.ActiveVersion)
        {
            throw Invalid(string.Create(CultureInfo.InvariantCulture, $"cannot set min encryption version of {minEncryption}, latest key version is {key.ActiveVersion}"));
        }

        if (minEncryption > 0 && minEncryption < (minDecryption ?? key.MinDecryptionVersion))
        {
            throw Invalid("min encryption version should not be less than min decryption version");
        }

        var deletionAllowed = body.Boolean("deletion_allowed");
        var period = AutoRotatePeriod(body);
        var change = context.Caller().Change(null);
        if (minDecryption is { } min && min != key.MinDecryptionVersion)
        {
            await service.SetMinDecryptionVersionAsync(name, min, change, context.RequestAborted).ConfigureAwait(false);
        }

        if (deletionAllowed is { } allowed && allowed != key.DeletionAllowed)
        {
            await service.UpdateKeyAsync(name, new KeyConfigUpdate(null, allowed), change, context.RequestAborted).ConfigureAwait(false);
        }

        if (period is { } p)
        {
            await SetRotatePeriodAsync(context, name, p).ConfigureAwait(false);
        }

        await WriteViewAsync(context, name, body, ConfigFields).ConfigureAwait(false);
    }

    private static async Task RotateAsync(HttpContext context)
    {
        var name = context.RouteKey();
        using var body = await TransitBody.ReadAsync(context).ConfigureAwait(false);
        await context.Service().RotateAsync(name, null, context.Caller().Change(null), context.RequestAborted).ConfigureAwait(false);
        await WriteViewAsync(context, name, body, FrozenSet<string>.Empty).ConfigureAwait(false);
    }

    private static async Task TrimAsync(HttpContext context)
    {
        var name = context.RouteKey();
        using var body = await TransitBody.ReadAsync(context).ConfigureAwait(false);
        var service = context.Service();
        var key = await service.GetKeyAsync(name, context.RequestAborted).ConfigureAwait(false);
        var versions = await service.ListVersionsAsync(name, context.RequestAborted).ConfigureAwait(false);
        var view = new TransitKeyView(key, versions, null);
        var target = Version(body, "min_available_version") ?? throw Invalid("missing min_available_version");
        switch (target)
        {
            case <= 0:
                throw Invalid("minimum available version should be positive");
            case var t when t < view.MinAvailableVersion:
                throw Invalid("minimum available version cannot be decremented");
            case var t when t > key.MinDecryptionVersion:
                throw Invalid("minimum available version cannot be greater than minimum decryption version");
        }

        // Trimming removes versions for good, so the inventory is asked about every one of them
        // before the first is touched: data still under any of them refuses the whole trim.
        var trimmed = versions.Where(v => v.Version < target && !TransitKeyView.IsTrimmed(v.State) && v.State != KeyVersionState.Pending).OrderBy(v => v.Version).ToList();
        if (context.RequestServices.GetService<InventoryGate>() is { } inventory)
        {
            foreach (var version in trimmed)
            {
                if (await inventory.CheckDestroyAsync(version, versions, context.RequestAborted).ConfigureAwait(false) is { } refusal)
                {
                    throw Invalid(string.Create(CultureInfo.InvariantCulture, $"cannot trim version {version.Version}: {refusal} Re-wrap the data first (a re-wrap job), then trim."));
                }
            }
        }

        // Rekey's own path to destruction: Disabled, scheduled, then destroyed once the key's
        // destruction delay has passed (at once when it is zero).
        var change = context.Caller().Change("transit trim to version " + target.ToString(CultureInfo.InvariantCulture));
        var waiting = new List<int>();
        foreach (var version in trimmed)
        {
            if (version.State is KeyVersionState.DecryptOnly or KeyVersionState.Retiring)
            {
                await service.DisableAsync(name, version.Version, change, context.RequestAborted).ConfigureAwait(false);
            }

            var scheduled = await service.ScheduleDestroyAsync(name, version.Version, change, context.RequestAborted).ConfigureAwait(false);
            if (key.DestructionDelay == TimeSpan.Zero)
            {
                await service.DestroyAsync(name, version.Version, change, context.RequestAborted).ConfigureAwait(false);
            }
            else
            {
                waiting.Add(scheduled.Version);
            }
        }

        var warnings = new List<string>();
        if (waiting.Count > 0)
        {
            warnings.Add($"{(waiting.Count == 1 ? "version" : "versions")} {string.Join(", ", waiting)} no longer decrypt and are scheduled for destruction after the key's destruction delay ({Rekey.DurationText.Format(key.DestructionDelay)}); 'rekey version destroy' or a lifecycle policy with destroy completes it");
        }

        await WriteViewAsync(context, name, body, TrimFields, warnings).ConfigureAwait(false);
    }

    /// <summary>Writes the key's Vault description, with <paramref name="warnings"/> and one naming the body's fields outside <paramref name="known"/>.</summary>
    private static async Task WriteViewAsync(HttpContext context, KeyName name, TransitBody? body, IReadOnlySet<string> known, List<string>? warnings = null)
    {
        if (body?.IgnoredFields(known) is { } ignored)
        {
            (warnings ??= []).Add(ignored);
        }

        var service = context.Service();
        var key = await service.GetKeyAsync(name, context.RequestAborted).ConfigureAwait(false);
        var versions = await service.ListVersionsAsync(name, context.RequestAborted).ConfigureAwait(false);
        var effective = await Policies(context).GetEffectiveAsync(name, context.RequestAborted).ConfigureAwait(false);
        var view = new TransitKeyView(key, versions, effective.Policy.RotateEvery);
        await VaultResponse.WriteAsync(context, view.Write, warnings).ConfigureAwait(false);
    }

    /// <summary>
    /// Vault's <c>auto_rotate_period</c> as a periodic rotation policy on exactly this key: set
    /// (other fields of that policy kept), or taken out with 0 (the policy removed when nothing else is left).
    /// </summary>
    private static async Task SetRotatePeriodAsync(HttpContext context, KeyName name, TimeSpan period)
    {
        var policies = Policies(context);
        var pattern = KeyPattern.Parse(name.Value);
        var existing = (await policies.ListAsync(context.RequestAborted).ConfigureAwait(false)).FirstOrDefault(p => p.Pattern == pattern.Value)?.Policy;
        var change = context.Caller().Change("transit auto_rotate_period");
        if (period == TimeSpan.Zero)
        {
            if (existing?.RotateEvery is null)
            {
                return;
            }

            var rest = existing with { RotateEvery = null };
            if (rest == new LifecyclePolicy())
            {
                await policies.UnsetAsync(pattern, change, context.RequestAborted).ConfigureAwait(false);
            }
            else
            {
                await policies.SetAsync(pattern, rest, change, context.RequestAborted).ConfigureAwait(false);
            }

            return;
        }

        await policies.SetAsync(pattern, (existing ?? new LifecyclePolicy()) with { RotateEvery = period }, change, context.RequestAborted).ConfigureAwait(false);
    }

    private static TimeSpan? AutoRotatePeriod(TransitBody body)
    {
        var period = TransitDuration.Read(body.Root, "auto_rotate_period");
        return period is { } p && p != TimeSpan.Zero && p < TimeSpan.FromHours(1)
            ? throw Invalid("auto rotate period must be 0 to disable or at least an hour")
            : period;
    }

    private static void RefuseUnsupported(TransitBody body)
    {
        if (body.Boolean("exportable") == true)
        {
            throw Invalid("exportable keys are not supported by Rekey: key material never leaves it in plaintext");
        }

        if (body.Boolean("allow_plaintext_backup") == true)
        {
            throw Invalid("plaintext backups are not supported by Rekey: use the store's own backups, whose key material stays wrapped by the root");
        }
    }

    private static int? Version(TransitBody body, string field) => body.Integer(field) switch
    {
        null => null,
        < int.MinValue or > int.MaxValue => throw Invalid($"'{field}' is out of range"),
        { } v => (int)v,
    };

    private static LifecyclePolicies Policies(HttpContext context) => context.RequestServices.GetRequiredService<LifecyclePolicies>();

    private static RekeyException Invalid(string message) => new(RekeyErrorCode.InvalidRequest, message);
}
