using System.Diagnostics.Metrics;
using Rekey.Access;
using Rekey.Keys;

namespace Rekey.Server.Metrics;

/// <summary>
/// The server's instruments (System.Diagnostics.Metrics), published at <c>/metrics</c> in the
/// Prometheus text format. Request and crypto counts are recorded as they happen; the store's
/// state (versions, inventory, jobs, scheduler, checkpoints) is read by <see cref="StoreGauges"/>
/// when Prometheus scrapes.
/// </summary>
/// <remarks>
/// Label values are bounded so a store of 100,000 tenant keys cannot make 100,000 series: a
/// crypto operation is labelled with the key only when the key matches one of
/// <c>metrics_key_patterns</c> (none by default); every other key is counted under its first
/// name segment with <c>/*</c> (<c>tenants/*</c>). The version is labelled by its number for a
/// key with series of its own, and <c>all</c> otherwise. Routes are the endpoint names, never the
/// raw path.
/// </remarks>
public sealed class RekeyMetrics : IDisposable
{
    private readonly IReadOnlyList<KeyPattern> _perKey;
    private readonly Histogram<double> _requestDuration;
    private readonly Counter<long> _crypto;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _groups =
        new System.Collections.Concurrent.ConcurrentDictionary<string, string>(StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Instruments on a meter of their own (one per server, so two servers in one process count apart).</summary>
    public RekeyMetrics(IReadOnlyList<KeyPattern> perKeyPatterns, bool enabled = true)
    {
        _perKey = perKeyPatterns;
        Enabled = enabled;
        Meter = new Meter("Rekey", "1.0");
        _requestDuration = Meter.CreateHistogram<double>("rekey_http_request_duration_seconds", "s", "HTTP requests by route (endpoint name), method and status code, and how long they took.");
        _crypto = Meter.CreateCounter<long>("rekey_crypto_operations_total", "{operation}", "Encrypt, decrypt, re-wrap and data-key operations that succeeded, by key (or key group) and version.");
    }

    /// <summary>Whether anything is recorded (the <c>metrics</c> setting).</summary>
    public bool Enabled { get; }

    /// <summary>The meter every Rekey instrument is on.</summary>
    public Meter Meter { get; }

    /// <summary>Records one answered request.</summary>
    public void Request(string route, string method, int status, TimeSpan duration)
    {
        if (Enabled)
        {
            _requestDuration.Record(duration.TotalSeconds, new("route", route), new("method", method), new("code", Code(status)));
        }
    }

    /// <summary>Records one successful crypto operation on <paramref name="key"/> with version <paramref name="version"/>.</summary>
    public void Crypto(string operation, KeyName key, int version) => Crypto(operation, key, version, 1);

    /// <summary>Records <paramref name="count"/> successful crypto operations (a batch's) on <paramref name="key"/> with version <paramref name="version"/>.</summary>
    public void Crypto(string operation, KeyName key, int version, long count)
    {
        if (!Enabled || count == 0)
        {
            return;
        }

        var own = HasOwnSeries(key);
        _crypto.Add(count, new("operation", operation), new("key", own ? key.Value : Group(key)), new("version", own ? version.ToString(System.Globalization.CultureInfo.InvariantCulture) : "all"));
    }

    /// <summary>Whether any key gets series of its own (<c>metrics_key_patterns</c> is set).</summary>
    public bool HasPerKeySeries => _perKey.Count > 0;

    /// <summary>Whether <paramref name="key"/> gets series of its own.</summary>
    public bool HasOwnSeries(KeyName key)
    {
        // A loop, not LINQ: this runs on every crypto operation.
        foreach (var pattern in _perKey)
        {
            if (pattern.Matches(key))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The group a key is counted under when it has no series of its own: its first name segment, <c>tenants/*</c>.</summary>
    public string Group(KeyName key)
    {
        // Looked up by the segment's characters, so a crypto operation allocates no label string.
        var slash = key.Value.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return "*";
        }

        var segment = key.Value.AsSpan(0, slash);
        return _groups.TryGetValue(segment, out var label) ? label : _groups.Dictionary.GetOrAdd(segment.ToString(), string.Concat(segment, "/*"));
    }

    /// <inheritdoc />
    public void Dispose() => Meter.Dispose();

    // Status codes as label values, made once: a request should not allocate its own.
    private static readonly string[] Codes = [.. Enumerable.Range(0, 600).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    private static string Code(int status) => status is >= 0 and < 600 ? Codes[status] : status.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
