using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Rekey.Errors;
using Rekey.Rewrap;

namespace Rekey.Server.Hosting;

/// <summary>
/// Runs re-wrap jobs started through the API: every second it looks for a Pending job, or a
/// Running one whose runner's lease lapsed (an instance died), takes the lease and runs it. With
/// several instances on one PostgreSQL store, the lease makes exactly one of them run a job.
/// </summary>
internal sealed partial class RewrapJobWorker(RewrapJobs jobs, TimeProvider time, ILogger<RewrapJobWorker> logger) : BackgroundService
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);
    private readonly string _owner = $"server:{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Poll, time, stoppingToken).ConfigureAwait(false);
                foreach (var id in await jobs.RunnableAsync(stoppingToken).ConfigureAwait(false))
                {
                    try
                    {
                        var status = await jobs.RunAsync(id, _owner, cancellationToken: stoppingToken).ConfigureAwait(false);
                        LogRan(logger, id, status.State);
                    }
                    catch (RekeyException e) when (e.Code == RekeyErrorCode.Conflict)
                    {
                        // Another instance holds its lease.
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is RekeyStoreException or RekeyException)
            {
                LogFailed(logger, e);
            }
        }
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Re-wrap job {JobId} stopped: {State}")]
    private static partial void LogRan(ILogger logger, string jobId, RewrapJobState state);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "The re-wrap job worker failed; retrying")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
