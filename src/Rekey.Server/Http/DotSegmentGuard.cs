using Microsoft.AspNetCore.Http.Features;
using Rekey.Errors;
using Rekey.Server.Surfaces;

namespace Rekey.Server.Http;

/// <summary>
/// Refuses a request whose path, as sent, has a <c>.</c> or <c>..</c> segment (also when written
/// <c>%2e</c>), before the server resolves it. Resolving them would make <c>/v1/keys/tenants/h42/../h99/k</c>
/// reach a key other than the one a path-based proxy or firewall in front of the server saw.
/// </summary>
internal sealed class DotSegmentGuard(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? string.Empty;

        // Most targets have neither a dot nor an escape: nothing to split on the encrypt/decrypt path.
        if (raw.AsSpan().IndexOfAny('.', '%') < 0)
        {
            return next(context);
        }

        var end = raw.AsSpan().IndexOfAny('?', '#');
        var path = end < 0 ? raw : raw[..end];
        foreach (var segment in path.Split('/'))
        {
            if (segment.Length is > 0 and <= 6 && Uri.UnescapeDataString(segment) is "." or "..")
            {
                return ApiSurface.Of(context).WriteErrorAsync(context, RekeyErrorCode.InvalidRequest, "A path may not contain '.' or '..' segments.");
            }
        }

        return next(context);
    }
}
