using Rekey.Errors;

namespace Rekey.Server.Surfaces;

/// <summary>
/// How one API surface talks: where a request's token is read from, and how a refusal or failure
/// is written. Attached to endpoints as metadata; the access and error middleware use the
/// endpoint's surface, so a second surface (another header, another error shape) goes through the
/// same policy table and the same audit as <c>/v1</c>.
/// </summary>
public abstract class ApiSurface
{
    /// <summary>
    /// The token secret the request presents, or null when it presents none (or one this surface
    /// cannot read, which is then refused as unauthenticated).
    /// </summary>
    public abstract string? ReadToken(HttpRequest request);

    /// <summary>Writes an error answer with <paramref name="code"/>'s status (or <paramref name="status"/>), replacing whatever was about to be sent.</summary>
    public abstract Task WriteErrorAsync(HttpContext context, RekeyErrorCode code, string detail, int? status = null);

    /// <summary>The surface of the endpoint the request was routed to; <c>/v1</c>'s when there is none (not routed, or no metadata).</summary>
    public static ApiSurface Of(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.GetEndpoint()?.Metadata.GetMetadata<ApiSurface>() ?? V1Surface.Instance;
    }
}
