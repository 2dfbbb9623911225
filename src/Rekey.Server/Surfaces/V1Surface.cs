using System.Text.Json;
using Rekey.Api;
using Rekey.Errors;

namespace Rekey.Server.Surfaces;

/// <summary>The <c>/v1</c> surface: <c>Authorization: Bearer</c> tokens and RFC 9457 problem documents.</summary>
public sealed class V1Surface : ApiSurface
{
    private const string Scheme = "Bearer ";

    private V1Surface()
    {
    }

    /// <summary>The one instance.</summary>
    public static V1Surface Instance { get; } = new();

    /// <inheritdoc />
    public override string? ReadToken(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        string? authorization = request.Headers.Authorization;
        return authorization is not null && authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)
            ? authorization[Scheme.Length..].Trim()
            : null;
    }

    /// <inheritdoc />
    public override async Task WriteErrorAsync(HttpContext context, RekeyErrorCode code, string detail, int? status = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        var problem = Problem.For(code, detail, context.TraceIdentifier);
        if (status is { } overridden)
        {
            problem = problem with { Status = overridden };
        }

        context.Response.StatusCode = problem.Status;
        context.Response.ContentType = Problem.ContentType;
        if (code == RekeyErrorCode.Unauthenticated)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }

        await JsonSerializer.SerializeAsync(context.Response.Body, problem, ApiJsonContext.Default.Problem, context.RequestAborted).ConfigureAwait(false);
    }
}
