using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Rekey.Errors;
using Rekey.Storage;

namespace Rekey.Server.Hosting;

/// <summary>
/// Signs the audit chain's head every <see cref="RekeyServerOptions.CheckpointEveryEvents"/> new
/// events, and at least every <see cref="RekeyServerOptions.CheckpointInterval"/> while the log
/// grows, so a truncated tail or a rewritten log is caught by <c>rekey audit verify</c>.
/// </summary>
internal sealed partial class CheckpointWorker(
    RekeyService service,
    IAuditCheckpointStore store,
    RekeyServerOptions options,
    TimeProvider time,
    ILogger<CheckpointWorker> logger) : BackgroundService
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        long signed = 0;
        var signedAt = time.GetUtcNow();
        try
        {
            var checkpoints = await store.GetCheckpointsAsync(stoppingToken).ConfigureAwait(false);
            signed = checkpoints.Count == 0 ? 0 : checkpoints[^1].Sequence;
        }
        catch (RekeyStoreException e)
        {
            LogFailed(logger, e);
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Poll, time, stoppingToken).ConfigureAwait(false);
                if (await store.GetAuditHeadAsync(stoppingToken).ConfigureAwait(false) is not { } head)
                {
                    continue;
                }

                var now = time.GetUtcNow();
                var grown = head.Sequence - signed;
                if (grown >= options.CheckpointEveryEvents || (grown > 0 && now - signedAt >= options.CheckpointInterval))
                {
                    var checkpoint = await service.CheckpointAuditAsync(new ChangeContext("server"), stoppingToken).ConfigureAwait(false);
                    signed = checkpoint?.Sequence ?? signed;
                    signedAt = now;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is RekeyStoreException or RekeyException)
            {
                // The next round tries again; the log itself is intact, only its signature waits.
                LogFailed(logger, e);
            }
        }
    }

    [LoggerMessage(EventId = 2301, Level = LogLevel.Warning, Message = "Signing an audit checkpoint failed; retrying")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
