using Microsoft.Data.Sqlite;
using Rekey.Keys;

namespace Rekey.Storage.Sqlite;

/// <summary>
/// SQLite has no notifications, so this polls: every change is committed together with an audit
/// event naming its key, so reading the events after the last sequence seen (a primary-key range
/// scan, usually empty) tells which keys other processes changed.
/// </summary>
internal sealed class SqliteChangePoller : IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly TimeSpan _interval;
    private readonly TimeProvider _time;
    private readonly Action<KeyName?> _changed;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _lastSequence;
    private volatile bool _live;

    public SqliteChangePoller(string connectionString, TimeSpan interval, TimeProvider time, Action<KeyName?> changed)
    {
        _connectionString = connectionString;
        _interval = interval;
        _time = time;
        _changed = changed;
        _lastSequence = ReadLastSequence();
        _live = true;
        _loop = Task.Run(RunAsync);
    }

    public bool IsLive => _live;

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
        while (!token.IsCancellationRequested)
        {
            await Task.Delay(_interval, _time, token).ConfigureAwait(false);
            try
            {
                Poll();
                if (!_live)
                {
                    // Back after a failure: whatever happened meanwhile was seen by Poll above.
                    _live = true;
                }
            }
            catch (SqliteException)
            {
                // Busy or unreadable for now: fall back to the cache's short TTL until it recovers.
                _live = false;
            }
        }
    }

    private void Poll()
    {
        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, key_name FROM audit_events WHERE seq > $s ORDER BY seq;";
        command.Parameters.AddWithValue("$s", _lastSequence);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            _lastSequence = reader.GetInt64(0);
            if (!reader.IsDBNull(1) && KeyName.TryParse(reader.GetString(1), out var key))
            {
                _changed(key);
            }
        }
    }

    private long ReadLastSequence()
    {
        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(MAX(seq), 0) FROM audit_events;";
        return (long)command.ExecuteScalar()!;
    }
}
