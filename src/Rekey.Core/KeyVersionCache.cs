using System.Collections.Concurrent;
using System.Text;
using Rekey.Crypto;
using Rekey.Keys;
using Rekey.Root;
using Rekey.Storage;

namespace Rekey;

/// <summary>
/// A key's versions as last read from the store, with each version's KEK unwrapped on first use
/// and kept until the version is destroyed or the cache is disposed.
/// </summary>
internal sealed class CachedKey
{
    public CachedKey(StoredKey key, IReadOnlyDictionary<int, CachedVersion> versions, long loadedAt, byte[] nameBytes)
    {
        Key = key;
        Versions = versions;
        LoadedAt = loadedAt;
        NameBytes = nameBytes;
        Active = versions.Values.SingleOrDefault(v => v.Stored.Info.State == KeyVersionState.Active);
    }

    public StoredKey Key { get; }

    public IReadOnlyDictionary<int, CachedVersion> Versions { get; }

    public CachedVersion? Active { get; }

    public long LoadedAt { get; }

    public byte[] NameBytes { get; }

    /// <summary>Set when a change is known to have happened; the next use reads the store again.</summary>
    public bool Stale { get; set; }
}

/// <summary>One version in the cache: its row, its KEK once unwrapped, and uses not yet flushed.</summary>
internal sealed class CachedVersion
{
    private long _encrypts;
    private long _decrypts;

    public CachedVersion(StoredKeyVersion stored) => Stored = stored;

    public StoredKeyVersion Stored { get; set; }

    public AesKeyWrapPadded? Kek { get; set; }

    public void CountEncrypt() => Interlocked.Increment(ref _encrypts);

    public void CountDecrypt() => Interlocked.Increment(ref _decrypts);

    public UsageDelta TakeUsage() =>
        new(Stored.Info.Key, Stored.Info.Version, Interlocked.Exchange(ref _encrypts, 0), Interlocked.Exchange(ref _decrypts, 0));

    public void ReturnUsage(UsageDelta delta)
    {
        Interlocked.Add(ref _encrypts, delta.Encrypts);
        Interlocked.Add(ref _decrypts, delta.Decrypts);
    }
}

/// <summary>
/// Keeps keys' versions in memory for <see cref="RekeyServiceOptions.CacheTtl"/>, reloads them
/// after that, and unwraps KEKs through the root provider only once per version.
/// </summary>
internal sealed class KeyVersionCache : IAsyncDisposable
{
    private readonly IKeyStore _store;
    private readonly RootKeyRing _roots;
    private readonly TimeProvider _time;
    private readonly TimeSpan _ttl;
    private readonly TimeSpan _notifiedTtl;
    private readonly IKeyChangeFeed? _feed;
    private readonly ConcurrentDictionary<string, CachedKey> _keys = new(StringComparer.Ordinal);
    private readonly Lock _kekGate = new();
    private long _invalidations;

    public KeyVersionCache(IKeyStore store, RootKeyRing roots, TimeProvider time, TimeSpan ttl, TimeSpan notifiedTtl)
    {
        _store = store;
        _roots = roots;
        _time = time;
        _ttl = ttl;
        _notifiedTtl = notifiedTtl;
        _feed = store as IKeyChangeFeed;
        if (_feed is not null)
        {
            _feed.KeyChanged += OnKeyChanged;
        }
    }

    /// <summary>The cached key if it is still fresh; no I/O.</summary>
    public CachedKey? TryGetFresh(string name)
    {
        if (!_keys.TryGetValue(name, out var cached) || cached.Stale)
        {
            return null;
        }

        // With a live change feed, notifications keep the cache right and the TTL is only a safety net.
        var ttl = _feed is { IsLive: true } ? _notifiedTtl : _ttl;
        return _time.GetElapsedTime(cached.LoadedAt) < ttl ? cached : null;
    }

    public async ValueTask<CachedKey?> GetAsync(KeyName name, CancellationToken cancellationToken) =>
        TryGetFresh(name.Value) ?? await ReloadAsync(name, cancellationToken).ConfigureAwait(false);

    /// <summary>Reads the key again from the store, keeping unwrapped KEKs and unflushed counts of versions that still have material.</summary>
    public async ValueTask<CachedKey?> ReloadAsync(KeyName name, CancellationToken cancellationToken)
    {
        var invalidationsBefore = Interlocked.Read(ref _invalidations);
        var key = await _store.FindKeyAsync(name, cancellationToken).ConfigureAwait(false);
        if (key is null)
        {
            if (_keys.TryRemove(name.Value, out var gone))
            {
                await FlushAsync(gone, cancellationToken).ConfigureAwait(false);
                foreach (var version in gone.Versions.Values)
                {
                    // The key was deleted, and its material with it.
                    EraseKek(version);
                }
            }

            return null;
        }

        var rows = StoreIntegrity.CheckVersions(name, await _store.GetVersionsAsync(name, cancellationToken).ConfigureAwait(false));
        _keys.TryGetValue(name.Value, out var previous);
        var versions = new Dictionary<int, CachedVersion>(rows.Count);
        foreach (var row in rows)
        {
            if (previous is not null && previous.Versions.TryGetValue(row.Info.Version, out var existing))
            {
                existing.Stored = row;
                if (row.WrappedMaterial is null)
                {
                    EraseKek(existing);
                }

                versions.Add(row.Info.Version, existing);
            }
            else
            {
                versions.Add(row.Info.Version, new CachedVersion(row));
            }
        }

        var fresh = new CachedKey(key, versions, _time.GetTimestamp(), Encoding.ASCII.GetBytes(name.Value))
        {
            // A change announced while we were reading may not be in what we read: use it once, read again next time.
            Stale = Interlocked.Read(ref _invalidations) != invalidationsBefore,
        };
        _keys[name.Value] = fresh;
        return fresh;
    }

    /// <summary>Marks a key (or every key, for null) changed, so the next use reads it again.</summary>
    public void Invalidate(KeyName? name)
    {
        Interlocked.Increment(ref _invalidations);
        if (name is null)
        {
            foreach (var cached in _keys.Values)
            {
                cached.Stale = true;
            }
        }
        else if (_keys.TryGetValue(name.Value.Value, out var cached))
        {
            cached.Stale = true;
        }
    }

    public async ValueTask<AesKeyWrapPadded> GetKekAsync(CachedVersion version, CancellationToken cancellationToken)
    {
        if (version.Kek is { } ready)
        {
            return ready;
        }

        var row = version.Stored;
        if (row.WrappedMaterial is null)
        {
            throw new KeyMaterialErasedException();
        }

        // The root that wrapped this version, by the id stored beside it (several during a root move).
        var material = await _roots.Resolve(row.RootKeyId).UnwrapAsync(row.WrappedMaterial, RootBindings.ForKeyVersion(row.Info.Key, row.Info.Version), cancellationToken).ConfigureAwait(false);
        try
        {
            var kek = new AesKeyWrapPadded(material);
            lock (_kekGate)
            {
                if (version.Kek is null)
                {
                    version.Kek = kek;
                    return kek;
                }
            }

            kek.Dispose();
            return version.Kek;
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(material);
        }
    }

    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        foreach (var cached in _keys.Values)
        {
            await FlushAsync(cached, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_feed is not null)
        {
            _feed.KeyChanged -= OnKeyChanged;
        }

        try
        {
            await FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            foreach (var cached in _keys.Values)
            {
                DisposeKeks(cached);
            }

            _keys.Clear();
        }
    }

    private void OnKeyChanged(object? sender, KeyChangedEventArgs e) => Invalidate(e.Key);

    private async Task FlushAsync(CachedKey cached, CancellationToken cancellationToken)
    {
        var deltas = cached.Versions.Values.Select(v => (Version: v, Delta: v.TakeUsage()))
            .Where(d => d.Delta.Encrypts != 0 || d.Delta.Decrypts != 0)
            .ToList();
        if (deltas.Count == 0)
        {
            return;
        }

        try
        {
            await _store.AddUsageAsync(deltas.Select(d => d.Delta).ToList(), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Counts are not lost on a store fault; they go out with the next flush.
            foreach (var (version, delta) in deltas)
            {
                version.ReturnUsage(delta);
            }

            throw;
        }
    }

    private void DisposeKeks(CachedKey cached)
    {
        foreach (var version in cached.Versions.Values)
        {
            DisposeKek(version);
        }
    }

    // The material is gone from the store: uses racing this one learn the version was destroyed.
    private void EraseKek(CachedVersion version)
    {
        lock (_kekGate)
        {
            version.Kek?.Erase();
            version.Kek = null;
        }
    }

    private void DisposeKek(CachedVersion version)
    {
        lock (_kekGate)
        {
            version.Kek?.Dispose();
            version.Kek = null;
        }
    }
}
