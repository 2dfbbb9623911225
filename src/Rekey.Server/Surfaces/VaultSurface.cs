using System.Text.Json;
using Rekey.Api;
using Rekey.Errors;

namespace Rekey.Server.Surfaces;

/// <summary>
/// The Vault-compatible surface: the token comes in <c>X-Vault-Token</c> (or, as Vault also
/// accepts, <c>Authorization: Bearer</c>), and errors are written as <c>{"errors":["..."]}</c>
/// with the statuses Vault uses: 400 for anything the request got wrong, 403 for a missing,
/// unknown or insufficient token, 404 for what does not exist, 500 for the server's own failures.
/// </summary>
public sealed class VaultSurface : ApiSurface
{
    private const string TokenHeader = "X-Vault-Token";
    private const string Scheme = "Bearer ";

    private VaultSurface()
    {
    }

    /// <summary>The one instance.</summary>
    public static VaultSurface Instance { get; } = new();

    /// <inheritdoc />
    public override string? ReadToken(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Headers.TryGetValue(TokenHeader, out var value))
        {
            return value.Count == 1 && !string.IsNullOrWhiteSpace(value[0]) ? value[0]!.Trim() : null;
        }

        string? authorization = request.Headers.Authorization;
        return authorization is not null && authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)
            ? authorization[Scheme.Length..].Trim()
            : null;
    }

    /// <inheritdoc />
    public override Task WriteErrorAsync(HttpContext context, RekeyErrorCode code, string detail, int? status = null) =>
        WriteErrorsAsync(context, status ?? StatusFor(code), [detail]);

    /// <summary>Writes <c>{"errors":[...]}</c> with <paramref name="status"/> (an empty list for Vault's bare 404s).</summary>
    public static async Task WriteErrorsAsync(HttpContext context, int status, IReadOnlyList<string> errors)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, new ErrorsResponse(errors), ApiJsonContext.Default.ErrorsResponse, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// Vault's status for a Rekey error code. Vault answers every refusal of the request's content
    /// with 400 (a disabled version, a policy, a conflict), so Rekey's 409s become 400 here.
    /// </summary>
    public static int StatusFor(RekeyErrorCode code) => code switch
    {
        RekeyErrorCode.Unauthenticated or RekeyErrorCode.Forbidden => StatusCodes.Status403Forbidden,
        RekeyErrorCode.KeyNotFound or RekeyErrorCode.RouteNotFound => StatusCodes.Status404NotFound,
        RekeyErrorCode.PayloadTooLarge => StatusCodes.Status413PayloadTooLarge,
        RekeyErrorCode.ApprovalPending => StatusCodes.Status202Accepted,
        _ when ErrorStatus.For(code) >= 500 => StatusCodes.Status500InternalServerError,
        _ => StatusCodes.Status400BadRequest,
    };

    /// <summary>Whether a failure is the server's (Vault's "internal error" in a batch, 500) rather than the request's (400).</summary>
    public static bool IsInternal(RekeyErrorCode code) => ErrorStatus.For(code) >= 500;
}
