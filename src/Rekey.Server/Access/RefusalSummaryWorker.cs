using System.Globalization;
using Microsoft.Extensions.Logging;
using Rekey.Audit;
using Rekey.Errors;
using Rekey.Storage;

namespace Rekey.Server.Access;

/// <summary>Writes the refusals <see cref="RefusalLimiter"/> counted but did not record, one audit event per client address, every interval and at shutdown.</summary>
internal sealed partial class RefusalSummaryWorker(RefusalLimiter limiter, IKeyStore store, Hosting.RekeyServerOptions options, TimeProvider time, ILogger<RefusalSummaryWorker> logger) : Hosting.PeriodicWorker(time)
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
            var record = new AuditRecord(AuditChain.TruncateToMilliseconds(Time.GetUtcNow()), "anonymous", "auth.refusals", null, null, null, "refused:" + RekeyErrorCode.Unauthenticated, $"{count} refusals from {address} in the last {span}, beyond {options.AuditedRefusalsPerMinute} a minute recorded one by one")
            {
                Client = address,
            };
            await store.AppendAuditAsync(record, cancellationToken).ConfigureAwait(false);
        }
    }

    protected override TimeSpan Interval => options.RefusalSummaryInterval;

    protected override Task RunOnceAsync(CancellationToken cancellationToken) => FlushAsync(cancellationToken);

    protected override void OnStoreFailure(RekeyStoreException exception) => LogFailed(logger, exception);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "Writing the summary of refused calls failed; retrying")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
