using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Rekey.Server.Access;

namespace Rekey.Server.Http;

/// <summary>
/// One log line per request: method, the route template (never the raw path, whose key names and
/// query strings are the caller's data), status, duration, the token id and the request id. The
/// outermost middleware, so errors and refusals are logged with the status they were answered with.
/// </summary>
internal sealed partial class RequestLog(RequestDelegate next, ILogger<RequestLog> logger, TimeProvider time, Metrics.RekeyMetrics metrics)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var started = time.GetTimestamp();
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            // By endpoint name, a bounded set: a path that matched no endpoint is "none".
            var endpoint = context.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? "none";
            metrics.Request(endpoint, context.Request.Method, context.Response.StatusCode, time.GetElapsedTime(started));
            if (logger.IsEnabled(LogLevel.Information))
            {
                var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)";
                var token = context.Features.Get<Caller>()?.Token?.Id ?? "-";
                LogRequest(logger, context.Request.Method, route, context.Response.StatusCode, time.GetElapsedTime(started).TotalMilliseconds, token, context.TraceIdentifier);
            }
        }
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "{Method} {Route} {Status} {DurationMs:0.0} ms token {TokenId} request {RequestId}")]
    private static partial void LogRequest(ILogger logger, string method, string route, int status, double durationMs, string tokenId, string requestId);
}
