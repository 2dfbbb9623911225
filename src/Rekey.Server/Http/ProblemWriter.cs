using System.Text.Json;
using Rekey.Api;
using Rekey.Errors;

namespace Rekey.Server.Http;

/// <summary>Writes problem documents as responses.</summary>
internal static class ProblemWriter
{
    /// <summary>Writes the document for <paramref name="code"/>, replacing whatever was about to be sent.</summary>
    public static async Task WriteAsync(HttpContext context, RekeyErrorCode code, string detail, int? status = null)
    {
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
