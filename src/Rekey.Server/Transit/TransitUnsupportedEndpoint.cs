using System.Collections.Frozen;
using Rekey.Server.Access;
using Rekey.Server.Surfaces;

namespace Rekey.Server.Transit;

/// <summary>
/// Everything else under a Transit mount: the engine's features Rekey does not have are named
/// in a 400 (never answered silently wrong), a known path with another method is Vault's 405,
/// and anything else is Vault's 404 "unsupported path".
/// </summary>
internal static class TransitUnsupportedEndpoint
{
    private static readonly FrozenDictionary<string, string> Features = new Dictionary<string, string>
    {
        ["sign"] = "signing (Rekey's keys are symmetric)",
        ["verify"] = "signature verification (Rekey's keys are symmetric)",
        ["hmac"] = "HMAC",
        ["hash"] = "hashing",
        ["random"] = "random bytes",
        ["export"] = "key export (key material never leaves Rekey in plaintext)",
        ["backup"] = "key backup (use the store's backups: key material stays wrapped by the root)",
        ["restore"] = "key restore",
        ["cache-config"] = "the key cache configuration",
        ["config"] = "the engine configuration",
        ["wrapping_key"] = "BYOK import through Vault's wrapping key (use Rekey's own import: rekey key import)",
        ["byok-export"] = "BYOK export",
        ["cmac"] = "CMAC",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenSet<string> Served = FrozenSet.ToFrozenSet(["keys", "encrypt", "decrypt", "rewrap", "datakey"], StringComparer.Ordinal);

    public static void Map(IEndpointRouteBuilder app, TransitMounts mounts) =>
        app.Map(mounts.Route("/{**rest}"), AnswerAsync).WithName(EndpointNames.TransitUnsupported).WithMetadata(VaultSurface.Instance);

    private static Task AnswerAsync(HttpContext context)
    {
        var rest = (context.Request.RouteValues["rest"] as string) ?? string.Empty;
        var segments = rest.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var first = segments.Length > 0 ? segments[0] : string.Empty;
        if (Features.TryGetValue(first, out var feature))
        {
            return VaultSurface.WriteErrorsAsync(context, StatusCodes.Status400BadRequest, [$"Rekey's Transit surface does not support {feature}; see docs/vault-compat.md"]);
        }

        if (segments is ["keys", _, "import" or "import_version"])
        {
            return VaultSurface.WriteErrorsAsync(context, StatusCodes.Status400BadRequest, ["Rekey's Transit surface does not support Vault's key import; use Rekey's own import (rekey key import)"]);
        }

        return Served.Contains(first) && IsServedShape(segments)
            ? VaultSurface.WriteErrorsAsync(context, StatusCodes.Status405MethodNotAllowed, ["1 error occurred:\n\t* unsupported operation\n\n"])
            : VaultSurface.WriteErrorsAsync(context, StatusCodes.Status404NotFound, ["1 error occurred:\n\t* unsupported path\n\n"]);
    }

    // The shapes the Transit endpoints answer, so another method on one of them is a 405.
    private static bool IsServedShape(string[] segments) => segments switch
    {
        ["keys"] or ["keys", _] or ["keys", _, "config" or "rotate" or "trim"] => true,
        ["encrypt" or "decrypt" or "rewrap", _] => true,
        ["datakey", _, _] => true,
        _ => false,
    };
}
