using Npgsql;
using Rekey.Keys;

namespace Rekey.Storage.Postgres;

/// <summary>
/// Holds one connection that LISTENs on the change channel and raises an event per
/// notification. Reconnects after a failure, and then reports "everything may have changed",
/// because notifications sent while it was away are lost.
/// </summary>
internal sealed class PostgresChangeListener : IAsyncDisposable
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);
    private readonly NpgsqlDataSource _dataSource;
    private readonly Action<KeyName?> _changed;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _firstListen = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _loop;
    private volatile bool _live;

    public PostgresChangeListener(NpgsqlDataSource dataSource, Action<KeyName?> changed)
    {
        _dataSource = dataSource;
        _changed = changed;
        _loop = Task.Run(RunAsync);
    }

    public bool IsLive => _live;

    /// <summary>Completes once LISTEN is in place (or the first attempt failed).</summary>
    public Task Started => _firstListen.Task;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping is the expected way out.
        }

        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        var reconnecting = false;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(token).ConfigureAwait(false);
                connection.Notification += (_, e) => _changed(KeyName.TryParse(e.Payload, out var key) ? key : null);
                await using (var listen = new NpgsqlCommand($"LISTEN {PostgresSchema.Channel};", connection))
                {
                    await listen.ExecuteNonQueryAsync(token).ConfigureAwait(false);
                }

                _live = true;
                _firstListen.TrySetResult();
                if (reconnecting)
                {
                    _changed(null);
                }

                while (true)
                {
                    await connection.WaitAsync(token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException or InvalidOperationException)
            {
                _live = false;
                _firstListen.TrySetResult();
                reconnecting = true;
                _changed(null);
                await Task.Delay(RetryDelay, token).ConfigureAwait(false);
            }
        }

        _live = false;
    }
}
