using Microsoft.Extensions.Logging;

namespace Rekey.Storage.Postgres;

/// <summary>What the PostgreSQL store tells the operator, with stable event ids (4000s).</summary>
internal static partial class PostgresLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "The change listener lost its connection ({Problem}); reconnecting in {DelayMs} ms; caches rely on their lifetime until then")]
    public static partial void ListenerLost(ILogger logger, string problem, double delayMs);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "The change listener is listening again; every cached key is read afresh")]
    public static partial void ListenerBack(ILogger logger);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "Erasure: waiting for transactions older than {Xid} to end before rewriting key_versions")]
    public static partial void ErasureWaiting(ILogger logger, long xid);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "Erasure: transactions older than {Xid} still ran after {Seconds} s; key_versions is rewritten now, and dead row versions they can still see stay until the next erasure")]
    public static partial void ErasureWaitGaveUp(ILogger logger, long xid, double seconds);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Information, Message = "Erasure: key_versions rewritten (VACUUM FULL) in {DurationMs:0} ms")]
    public static partial void ErasureDone(ILogger logger, double durationMs);
}
