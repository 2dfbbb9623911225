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

    /// <summary>The roots were given again (the configuration changed) and new material is wrapped by <paramref name="primary"/>.</summary>
    [LoggerMessage(EventId = 2501, Level = LogLevel.Information, Message = "Root keys reloaded: new material is wrapped by {Primary}; previous roots {Previous}")]
    public static partial void RootsReloaded(this ILogger logger, string primary, string previous);

    /// <summary>A root the configuration dropped still wraps material in the store, so it is still read.</summary>
    [LoggerMessage(EventId = 2502, Level = LogLevel.Warning, Message = "Root {Root} is no longer configured but still wraps material in the store; it stays readable until 'rekey root migrate' has moved everything")]
    public static partial void RootKept(this ILogger logger, string root);

    /// <summary>The new root configuration could not be used; the server keeps the roots it had.</summary>
    [LoggerMessage(EventId = 2503, Level = LogLevel.Error, Message = "Root keys not reloaded, the server keeps its current roots: {Reason}")]
    public static partial void RootsNotReloaded(this ILogger logger, string reason);

    /// <summary>A registered data source could not be reached or read; the caller was told only that.</summary>
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Data source '{Source}' cannot be reached or read")]
    public static partial void SourceFailed(this ILogger logger, string source, Exception exception);
}
