using Microsoft.Extensions.Logging;
using Rekey.Errors;

namespace Rekey.Server.Hosting;

/// <summary>
/// Moves Retiring versions whose grace period is over to Disabled, every few seconds, so the state
/// shown and audited follows the deadline even when nobody decrypts with them. (Decryption is
/// refused from the deadline on in any case.)
/// </summary>
internal sealed partial class RetireDeadlineWorker(RekeyService service, TimeProvider time, ILogger<RetireDeadlineWorker> logger) : PeriodicWorker(time)
{
    protected override TimeSpan Interval => TimeSpan.FromSeconds(5);

    protected override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        var moved = await service.ExpireRetiredVersionsAsync(cancellationToken).ConfigureAwait(false);
        if (moved > 0)
        {
            LogExpired(logger, moved);
        }
    }

    protected override void OnStoreFailure(RekeyStoreException exception) => LogFailed(logger, exception);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "{Count} Retiring version(s) passed their deadline and are now Disabled")]
    private static partial void LogExpired(ILogger logger, int count);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Enforcing retire deadlines failed; retrying")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
