using System.Text.Json;
using Rekey.Api;
using Rekey.Errors;

namespace Rekey.Server.Surfaces;

/// <summary>
/// A surface whose clients send the token in a header of its own (Vault's <c>X-Vault-Token</c>,
/// say) and read errors as <c>{"errors":["..."]}</c> with the status of the error's code.
/// </summary>
public sealed class HeaderErrorsSurface : ApiSurface
{
    private readonly string _header;

    /// <summary>A surface reading the token from <paramref name="header"/>.</summary>
    public HeaderErrorsSurface(string header)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(header);
        _header = header;
    }

    /// <inheritdoc />
    public override string? ReadToken(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Headers.TryGetValue(_header, out var value) && value.Count == 1 && !string.IsNullOrWhiteSpace(value[0]) ? value[0]!.Trim() : null;
    }

    /// <inheritdoc />
    public override async Task WriteErrorAsync(HttpContext context, RekeyErrorCode code, string detail, int? status = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.StatusCode = status ?? ErrorStatus.For(code);
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, new ErrorsResponse([detail]), ApiJsonContext.Default.ErrorsResponse, context.RequestAborted).ConfigureAwait(false);
    }
}
