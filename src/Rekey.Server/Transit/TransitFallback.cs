using System.Collections.Frozen;
using Microsoft.Extensions.DependencyInjection;
using Rekey.Server.Surfaces;

namespace Rekey.Server.Transit;

/// <summary>
/// The answer, in Vault's shape, to a request under a Transit mount that no endpoint serves: the
/// engine's features Rekey does not have are named in a 400 (never answered silently wrong), a
/// served path with another method is Vault's 405, and anything else is Vault's 404
/// "unsupported path". Nothing is done, so no token is needed to be told.
/// </summary>
internal static class TransitFallback
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

    /// <summary>Answers a request under a mount that routing did not serve; false (nothing written) when it is under none.</summary>
    public static async Task<bool> TryAnswerAsync(HttpContext context)
    {
        if (context.RequestServices.GetService<TransitMounts>()?.MountOf(context.Request.Path) is not { } mount)
        {
            return false;
        }

        var rest = context.Request.Path.Value!.Length > mount.Length + 5 ? context.Request.Path.Value[(mount.Length + 5)..] : string.Empty;
        await AnswerAsync(context, rest.Split('/', StringSplitOptions.RemoveEmptyEntries)).ConfigureAwait(false);
        return true;
    }

    private static Task AnswerAsync(HttpContext context, string[] segments)
    {
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
