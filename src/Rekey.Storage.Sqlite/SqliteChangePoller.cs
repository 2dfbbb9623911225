using Microsoft.Data.Sqlite;
using Rekey.Keys;

namespace Rekey.Storage.Sqlite;

/// <summary>
/// SQLite has no notifications, so this polls: every change is committed together with an audit
/// event naming its key, so reading the events after the last sequence seen (a primary-key range
/// scan, usually empty) tells which keys other processes changed.
/// </summary>
/// <remarks>
/// Runs on its own thread with blocking waits: timers and thread-pool continuations are late
/// exactly when the pool is busy, which is when a prompt invalidation matters most.
/// </remarks>
internal sealed class SqliteChangePoller : IDisposable
{
    private readonly string _connectionString;
    private readonly TimeSpan _interval;
    private readonly TimeProvider _time;
    private readonly Action<KeyName?> _changed;
    private readonly ManualResetEventSlim _stop = new();
    private readonly Thread _thread;
    private long _lastSequence;
    private long _lastPolled;

    public SqliteChangePoller(string connectionString, TimeSpan interval, TimeProvider time, Action<KeyName?> changed)
    {
        _connectionString = connectionString;
        _interval = interval;
        _time = time;
        _changed = changed;
        _lastSequence = ReadLastSequence();
        _lastPolled = time.GetTimestamp();
        _thread = new Thread(Run) { IsBackground = true, Name = "rekey-sqlite-change-poller" };
        _thread.Start();
    }

    /// <summary>True while polls keep completing; a stuck or failing poller lets the cache fall back to its short TTL.</summary>
    public bool IsLive => _time.GetElapsedTime(Interlocked.Read(ref _lastPolled)) < _interval * 4;

    public void Dispose()
    {
        _stop.Set();
        _thread.Join();
        _stop.Dispose();
    }

    private void Run()
    {
        while (!_stop.Wait(_interval))
        {
            try
            {
                Poll();
                Interlocked.Exchange(ref _lastPolled, _time.GetTimestamp());
            }
            catch (SqliteException)
            {
                // Busy or unreadable for now: IsLive turns false and the cache uses its short TTL
                // until a poll succeeds again; that poll then reports everything missed meanwhile.
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
