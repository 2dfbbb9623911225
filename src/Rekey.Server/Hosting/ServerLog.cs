using Microsoft.Extensions.Logging;

namespace Rekey.Server.Hosting;

/// <summary>The server's own log messages, with stable event ids.</summary>
internal static partial class ServerLog
{
    /// <summary>A registered data source could not be reached or read; the caller was told only that.</summary>
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Data source '{Source}' cannot be reached or read")]
    public static partial void SourceFailed(this ILogger logger, string source, Exception exception);
}
