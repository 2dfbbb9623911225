using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Rekey.Testing;

/// <summary>A logger factory that keeps every entry in memory, for tests that assert what was logged.</summary>
public sealed class CapturingLoggerFactory : ILoggerFactory
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    /// <summary>Every entry so far, oldest first.</summary>
    public IReadOnlyList<LogEntry> Entries => _entries.ToArray();

    /// <summary>Waits until an entry with <paramref name="eventId"/> arrives, or fails after <paramref name="timeout"/>.</summary>
    public async Task<LogEntry> WaitForAsync(int eventId, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_entries.FirstOrDefault(e => e.EventId == eventId) is { } found)
            {
                return found;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"No log entry with event id {eventId} within {timeout}; got: {string.Join(", ", _entries.Select(e => e.EventId))}.");
    }

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

    /// <inheritdoc />
    public void AddProvider(ILoggerProvider provider)
    {
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<LogEntry> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue(new LogEntry(category, logLevel, eventId.Id, formatter(state, exception)));
    }
}

/// <summary>One captured log entry.</summary>
/// <param name="Category">The logger's category.</param>
/// <param name="Level">Its level.</param>
/// <param name="EventId">Its event id.</param>
/// <param name="Message">The formatted message.</param>
public sealed record LogEntry(string Category, LogLevel Level, int EventId, string Message);
