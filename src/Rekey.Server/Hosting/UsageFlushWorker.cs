using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Rekey.Errors;

namespace Rekey.Server.Hosting;

/// <summary>Writes the usage counts the service keeps in memory to the store every few seconds, so key reads show them.</summary>
internal sealed partial class UsageFlushWorker(RekeyService service, TimeProvider time, ILogger<UsageFlushWorker> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Interval, time, stoppingToken).ConfigureAwait(false);
                await service.FlushUsageAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (RekeyStoreException e)
            {
                // Counts stay in memory and go with the next flush.
                LogFailed(logger, e);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Flushing usage counts failed; retrying")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
