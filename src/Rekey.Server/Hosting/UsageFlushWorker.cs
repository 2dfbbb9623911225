using Microsoft.Extensions.Logging;
using Rekey.Errors;

namespace Rekey.Server.Hosting;

/// <summary>Writes the usage counts the service keeps in memory to the store every few seconds, so key reads show them.</summary>
internal sealed partial class UsageFlushWorker(RekeyService service, TimeProvider time, ILogger<UsageFlushWorker> logger) : PeriodicWorker(time)
{
    protected override TimeSpan Interval => TimeSpan.FromSeconds(5);

    protected override Task RunOnceAsync(CancellationToken cancellationToken) => service.FlushUsageAsync(cancellationToken);

    // Counts stay in memory and go with the next flush.
    protected override void OnStoreFailure(RekeyStoreException exception) => LogFailed(logger, exception);

    [LoggerMessage(EventId = 2201, Level = LogLevel.Warning, Message = "Flushing usage counts failed; retrying")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
