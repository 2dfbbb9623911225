using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Rekey.Audit;
using Rekey.Errors;
using Rekey.Storage;

namespace Rekey.Server.Access;

/// <summary>Writes the refusals <see cref="RefusalLimiter"/> counted but did not record, one audit event per client address, every interval and at shutdown.</summary>
internal sealed partial class RefusalSummaryWorker(RefusalLimiter limiter, IKeyStore store, Hosting.RekeyServerOptions options, TimeProvider time, ILogger<RefusalSummaryWorker> logger) : BackgroundService
{
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes one summary event per address with refusals counted since the last flush.</summary>
    internal async Task FlushAsync(CancellationToken cancellationToken)
    {
        var minutes = options.RefusalSummaryInterval.TotalMinutes;
        var span = minutes >= 1 ? $"{minutes.ToString("0.#", CultureInfo.InvariantCulture)} minute(s)" : $"{options.RefusalSummaryInterval.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s";
        foreach (var (address, count) in limiter.Drain())
        {
            var record = new AuditRecord(AuditChain.TruncateToMilliseconds(time.GetUtcNow()), "anonymous", "auth.refusals", null, null, null, "refused:" + RekeyErrorCode.Unauthenticated, $"{count} refusals from {address} in the last {span}, beyond {options.AuditedRefusalsPerMinute} a minute recorded one by one")
            {
                Client = address,
            };
            await store.AppendAuditAsync(record, cancellationToken).ConfigureAwait(false);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.RefusalSummaryInterval, time, stoppingToken).ConfigureAwait(false);
                await FlushAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (RekeyStoreException e)
            {
                LogFailed(logger, e);
            }
        }
    }

    [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "Writing the summary of refused calls failed; retrying")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
