using Rekey.Keys;

namespace Rekey.Storage;

/// <summary>
/// Implemented by stores that can tell every instance at once that a key changed (PostgreSQL's
/// LISTEN/NOTIFY). <see cref="RekeyService"/> drops its cached versions of that key on each
/// notification; without a feed it re-reads keys every <see cref="RekeyServiceOptions.CacheTtl"/>.
/// </summary>
public interface IKeyChangeFeed
{
    /// <summary>
    /// Raised after a change to a key commits, in any instance. A null key means "anything may
    /// have changed" (raised after the feed reconnects, since notifications may have been missed).
    /// </summary>
    event EventHandler<KeyChangedEventArgs>? KeyChanged;

    /// <summary>True while notifications are being received; false while reconnecting.</summary>
    bool IsLive { get; }
}

/// <summary>Which key changed; null when every key must be treated as changed.</summary>
/// <param name="Key">The key, or null for all keys.</param>
public sealed record KeyChangedEventArgs(KeyName? Key);
