using Microsoft.Extensions.Logging;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Lifecycle;

namespace Rekey.Server.Hosting;

/// <summary>
/// Runs the lifecycle scheduler every <see cref="RekeyServerOptions.SchedulerInterval"/> on every
/// instance; the store's per-key lease makes exactly one instance act on a key, and a dead
/// instance's keys are taken over when its lease lapses.
/// </summary>
internal sealed partial class LifecycleWorker : PeriodicWorker
{
    // Approvals lapse at their own pace; looking for them every 15 s is soon enough for the audit log.
    private static readonly TimeSpan ExpirySweep = TimeSpan.FromSeconds(15);

    private readonly LifecycleScheduler _scheduler;
    private readonly ApprovalBoard _approvals;
    private readonly TimeProvider _time;
    private readonly ILogger<LifecycleWorker> _logger;
    private readonly TimeSpan _interval;
    private DateTimeOffset _nextSweep;

    public LifecycleWorker(LifecycleScheduler scheduler, ApprovalBoard approvals, RekeyServerOptions options, TimeProvider time, ILogger<LifecycleWorker> logger)
        : base(time)
    {
        _scheduler = scheduler;
        _approvals = approvals;
        _time = time;
        _logger = logger;
        _interval = options.SchedulerInterval;
        _scheduler.OnKeyError = (key, e) => LogKeyFailed(_logger, key, e.Message);
    }

    protected override TimeSpan Interval => _interval;

    protected override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        var looked = await _scheduler.TickAsync(cancellationToken).ConfigureAwait(false);
        if (looked > 0)
        {
            LogTick(_logger, looked);
        }

        if (_time.GetUtcNow() >= _nextSweep)
        {
            _nextSweep = _time.GetUtcNow() + ExpirySweep;
            var expired = await _approvals.ExpireAsync(cancellationToken).ConfigureAwait(false);
            if (expired > 0)
            {
                LogExpired(_logger, expired);
            }
        }
    }

    protected override void OnStoreFailure(RekeyStoreException exception) => LogFailed(_logger, exception);

    [LoggerMessage(EventId = 2401, Level = LogLevel.Debug, Message = "The lifecycle scheduler looked at {Count} due key(s)")]
    private static partial void LogTick(ILogger logger, int count);

    [LoggerMessage(EventId = 2402, Level = LogLevel.Warning, Message = "The lifecycle scheduler could not reach the store; retrying")]
    private static partial void LogFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2404, Level = LogLevel.Information, Message = "{Count} approval(s) expired without being carried out")]
    private static partial void LogExpired(ILogger logger, int count);

    [LoggerMessage(EventId = 2403, Level = LogLevel.Warning, Message = "The lifecycle scheduler could not act on key {Key}: {Reason}; it tries again later")]
    private static partial void LogKeyFailed(ILogger logger, KeyName key, string reason);
}
