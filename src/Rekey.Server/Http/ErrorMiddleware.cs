using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Rekey.Errors;
using Rekey.Server.Surfaces;

namespace Rekey.Server.Http;

/// <summary>
/// The outermost middleware: turns every failure into a problem document with one stable code,
/// so a caller never sees a stack trace or a bare 500 for a mistake of its own.
/// </summary>
internal sealed partial class ErrorMiddleware(RequestDelegate next, ILogger<ErrorMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        context.Response.Headers["X-Request-Id"] = context.TraceIdentifier;
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (RekeyException e) when (e is { Code: RekeyErrorCode.ApprovalPending, ApprovalId: { } approvalId } && !context.Response.HasStarted)
        {
            // Held for approval: not a failure. 202 with the approval, and where to follow it.
            var approval = await context.RequestServices.GetRequiredService<Rekey.Lifecycle.ApprovalBoard>().GetAsync(approvalId, context.RequestAborted).ConfigureAwait(false);
            context.Response.Clear();
            context.Response.Headers["X-Request-Id"] = context.TraceIdentifier;
            context.Response.Headers.Location = "/v1/approvals/" + approvalId;
            await JsonBody.WriteAsync(context, Rekey.Api.ApiMapping.ToResource(approval), Rekey.Api.ApiJsonContext.Default.ApprovalResource, StatusCodes.Status202Accepted).ConfigureAwait(false);
        }
        catch (RekeyException e)
        {
            await WriteAsync(context, e.Code, e.Message).ConfigureAwait(false);
        }
        catch (RekeyStoreException e)
        {
            LogStoreFailure(logger, context.TraceIdentifier, e);
            await WriteAsync(context, RekeyErrorCode.StoreUnavailable, "The store could not be reached or written; nothing was changed. Try again.").ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await WriteAsync(context, RekeyErrorCode.PayloadTooLarge, "The request body is larger than this server accepts.").ConfigureAwait(false);
        }
        catch (BadHttpRequestException e)
        {
            await WriteAsync(context, RekeyErrorCode.InvalidRequest, e.Message).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is nobody to answer.
        }
        catch (Exception e)
        {
            LogUnexpected(logger, context.TraceIdentifier, e);
            await WriteAsync(context, RekeyErrorCode.Internal, "An unexpected error occurred; quote the request id to the operator.").ConfigureAwait(false);
        }
    }

    private static async Task WriteAsync(HttpContext context, RekeyErrorCode code, string detail)
    {
        if (context.Response.HasStarted)
        {
            // Too late for a problem document; dropping the connection is the honest signal.
            context.Abort();
            return;
        }

        context.Response.Clear();
        context.Response.Headers["X-Request-Id"] = context.TraceIdentifier;
        await ApiSurface.Of(context).WriteErrorAsync(context, code, detail).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "Request {RequestId}: the store failed")]
    private static partial void LogStoreFailure(ILogger logger, string requestId, Exception exception);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Error, Message = "Request {RequestId}: unexpected failure")]
    private static partial void LogUnexpected(ILogger logger, string requestId, Exception exception);
}
