using Microsoft.Extensions.Logging;

namespace Rekey.Server.Hosting;

/// <summary>The server's own log messages, with stable event ids.</summary>
internal static partial class ServerLog
{
    /// <summary>The server is listening.</summary>
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Rekey {Version} listening on {Address} ({Store} store)")]
    public static partial void Started(this ILogger logger, string version, string address, string store);

    /// <summary>The server is stopping: requests in flight finish, counters are flushed, the root key is zeroed.</summary>
    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Rekey on {Address} stopping")]
    public static partial void Stopping(this ILogger logger, string address);

    /// <summary>A registered data source could not be reached or read; the caller was told only that.</summary>
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Data source '{Source}' cannot be reached or read")]
    public static partial void SourceFailed(this ILogger logger, string source, Exception exception);
}
