using Microsoft.Extensions.Logging;
using Npgsql;
using Rekey.Keys;

namespace Rekey.Storage.Postgres;

/// <summary>
/// Holds one connection that LISTENs on the change channel and raises an event per
/// notification. Reconnects after a failure, and then reports "everything may have changed",
/// because notifications sent while it was away are lost.
/// </summary>
/// <remarks>
/// Runs on its own thread with blocking waits, so notifications are handled at once even when
/// the thread pool is busy.
/// </remarks>
internal sealed class PostgresChangeListener : IDisposable
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan StopCheck = TimeSpan.FromMilliseconds(200);
    private readonly NpgsqlDataSource _dataSource;
    private readonly Action<KeyName?> _changed;
    private readonly ILogger _logger;
    private readonly ManualResetEventSlim _stop = new();
    private readonly TaskCompletionSource _firstAttempt = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Thread _thread;
    private volatile bool _live;

    public PostgresChangeListener(NpgsqlDataSource dataSource, Action<KeyName?> changed, ILogger logger)
    {
        _dataSource = dataSource;
        _changed = changed;
        _logger = logger;
        _thread = new Thread(Run) { IsBackground = true, Name = "rekey-postgres-change-listener" };
        _thread.Start();
    }

    public bool IsLive => _live;

    /// <summary>Completes once LISTEN is in place, or the first attempt failed.</summary>
    public Task Started => _firstAttempt.Task;

    public void Dispose()
    {
        _stop.Set();
        _thread.Join();
        _stop.Dispose();
    }

    private void Run()
    {
        var reconnecting = false;
        while (!_stop.IsSet)
        {
            try
            {
                using var connection = _dataSource.OpenConnection();
                connection.Notification += (_, e) => _changed(KeyName.TryParse(e.Payload, out var key) ? key : null);
                using (var listen = new NpgsqlCommand($"LISTEN {PostgresSchema.Channel};", connection))
                {
                    listen.ExecuteNonQuery();
                }

                _live = true;
                _firstAttempt.TrySetResult();
                if (reconnecting)
                {
                    PostgresLog.ListenerBack(_logger);
                    _changed(null);
                }

                while (!_stop.IsSet)
                {
                    // Returns early when a notification arrives; the timeout only lets us check for stop.
                    connection.Wait(StopCheck);
                }
            }
            catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException or InvalidOperationException)
            {
                _live = false;
                _firstAttempt.TrySetResult();
                reconnecting = true;
                PostgresLog.ListenerLost(_logger, e.Message, RetryDelay.TotalMilliseconds);
                _changed(null);
                _stop.Wait(RetryDelay);
            }
        }

        _live = false;
    }
}
