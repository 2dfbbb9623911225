using Microsoft.Extensions.Hosting;
using Rekey.Errors;

namespace Rekey.Server.Hosting;

/// <summary>
/// A background duty done every <see cref="Interval"/> on the injected clock. A store failure is
/// reported to <see cref="OnStoreFailure"/> and the duty is tried again at the next tick; stopping
/// the host ends the loop.
/// </summary>
internal abstract class PeriodicWorker(TimeProvider time) : BackgroundService
{
    /// <summary>The clock the worker waits on.</summary>
    protected TimeProvider Time { get; } = time;

    /// <summary>How long between two runs.</summary>
    protected abstract TimeSpan Interval { get; }

    /// <summary>One run of the duty.</summary>
    protected abstract Task RunOnceAsync(CancellationToken cancellationToken);

    /// <summary>Logs a run that failed on the store; the next tick tries again.</summary>
    protected abstract void OnStoreFailure(RekeyStoreException exception);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Interval, Time, stoppingToken).ConfigureAwait(false);
                await RunOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (RekeyStoreException e)
            {
                OnStoreFailure(e);
            }
        }
    }
}
