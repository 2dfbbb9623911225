using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Rekey.Server.Hosting;

/// <summary>
/// How the server logs: ASP.NET Core logging at the configured level, to the console as single
/// plain lines or JSON objects. Whatever the level, the categories that write request targets
/// (the hosting diagnostics' "Request starting GET /path?query" lines, Kestrel's bad-request
/// details) are switched off, so a query string (which may carry a token or a ciphertext) never
/// reaches a log.
/// </summary>
public static class ServerLogging
{
    /// <summary>The formats <c>log_format</c> accepts.</summary>
    public static IReadOnlyList<string> Formats { get; } = ["plain", "json"];

    /// <summary>Sets the level and the filters that keep request targets out of every log.</summary>
    public static void Configure(ILoggingBuilder logging, LogLevel level)
    {
        ArgumentNullException.ThrowIfNull(logging);
        logging.SetMinimumLevel(level);

        // The framework is quiet unless the operator asked for debugging.
        logging.AddFilter("Microsoft", level <= LogLevel.Debug ? level : LogLevel.Warning);
        logging.AddFilter("Microsoft.Hosting.Lifetime", level <= LogLevel.Information ? LogLevel.Information : level);
        logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        logging.AddFilter("Microsoft.AspNetCore.Server.Kestrel.BadRequests", LogLevel.None);
        logging.AddFilter("Microsoft.AspNetCore.Routing.Matching", LogLevel.None);

        // A failure to start (a port in use, say) is reported by the server in one sentence; the
        // host's own entry would add the whole stack trace on one line.
        logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
    }

    /// <summary>
    /// Adds the console: <c>plain</c> (one line per entry, UTC timestamps) or <c>json</c> (one
    /// object per line), on standard error, so standard output keeps only what the command prints
    /// for people and scripts (the dev server's <c>export</c> lines).
    /// </summary>
    public static void AddConsole(ILoggingBuilder logging, string format)
    {
        ArgumentNullException.ThrowIfNull(logging);
        logging.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        if (format == "json")
        {
            logging.AddJsonConsole(o =>
            {
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z' ";
            });
            return;
        }

        logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z' ";
            o.ColorBehavior = LoggerColorBehavior.Disabled;
        });
    }
}
