using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Prometheus;

namespace Rekey.Server.Metrics;

/// <summary>
/// Publishes the instruments of one <see cref="Meter"/> in a prometheus-net registry, each as the
/// Prometheus type it is: a .NET counter as a Prometheus counter, a histogram as a histogram, an
/// observable gauge as a gauge read at each scrape.
/// </summary>
/// <remarks>
/// prometheus-net's own MeterAdapter exports every .NET counter as a Prometheus gauge and prefixes
/// names with the meter's; this bridge keeps Prometheus' conventions (<c>_total</c> counters, unit
/// suffixes in the names as the instruments spell them). Label names are the instrument's tag
/// names, which Rekey's instruments always give in full.
/// </remarks>
internal sealed class PrometheusBridge : IDisposable
{
    private static readonly double[] DurationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

    private readonly MeterListener _listener = new();
    private readonly IMetricFactory _factory;
    private readonly ConcurrentDictionary<Instrument, Collector> _collectors = new();
    private readonly ConcurrentDictionary<Instrument, ConcurrentDictionary<Labels, object>> _children = new();

    // Label sets each gauge reported in the current scrape: a state or job that is gone disappears.
    private readonly ConcurrentDictionary<Instrument, HashSet<string>> _seen = new();
    private volatile bool _disposed;

    /// <summary>Bridges <paramref name="meter"/> into <paramref name="registry"/>; before each scrape reads gauges, <paramref name="refresh"/> runs first.</summary>
    public PrometheusBridge(Meter meter, CollectorRegistry registry, Func<CancellationToken, Task> refresh)
    {
        _factory = Prometheus.Metrics.WithCustomRegistry(registry);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
        registry.AddBeforeCollectCallback(async cancellationToken =>
        {
            if (_disposed)
            {
                return;
            }

            await refresh(cancellationToken).ConfigureAwait(false);
            _seen.Clear();
            _listener.RecordObservableInstruments();
            foreach (var (instrument, collector) in _collectors)
            {
                if (collector is Gauge gauge && instrument.IsObservable)
                {
                    var seen = _seen.GetValueOrDefault(instrument) ?? [];
                    foreach (var labels in gauge.GetAllLabelValues().ToList())
                    {
                        if (!seen.Contains(string.Join('\0', labels)))
                        {
                            gauge.RemoveLabelled(labels);
                            _children.GetValueOrDefault(instrument)?.TryRemove(new Labels(At(labels, 0), At(labels, 1), At(labels, 2)), out _);
                        }
                    }
                }
            }
        });
    }

    public void Dispose()
    {
        _disposed = true;
        _listener.Dispose();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        // The hot path (a request, a crypto operation): the labelled child is looked up by its
        // label values without building arrays, once per label set.
        var key = new Labels(Value(tags, 0), Value(tags, 1), Value(tags, 2));
        var children = _children.GetOrAdd(instrument, _ => new ConcurrentDictionary<Labels, object>());
        if (!children.TryGetValue(key, out var child))
        {
            child = children.GetOrAdd(key, Child(instrument, tags));
        }

        switch (child)
        {
            case Counter.Child counter:
                counter.Inc(value);
                break;
            case Histogram.Child histogram:
                histogram.Observe(value);
                break;
            case Gauge.Child gauge:
                gauge.Set(value);
                _seen.GetOrAdd(instrument, _ => []).Add(string.Join('\0', key.Values(tags.Length)));
                break;
        }
    }

    private object Child(Instrument instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var names = new string[tags.Length];
        var values = new string[tags.Length];
        for (var i = 0; i < tags.Length; i++)
        {
            names[i] = tags[i].Key;
            values[i] = Value(tags, i) ?? string.Empty;
        }

        var collector = _collectors.GetOrAdd(instrument, Create(instrument, names));
        return collector switch
        {
            Counter counter => counter.WithLabels(values),
            Histogram histogram => histogram.WithLabels(values),
            _ => ((Gauge)collector).WithLabels(values),
        };
    }

    private static string? Value(ReadOnlySpan<KeyValuePair<string, object?>> tags, int i) =>
        i < tags.Length ? tags[i].Value as string ?? tags[i].Value?.ToString() ?? string.Empty : null;

    private Collector Create(Instrument instrument, string[] labelNames)
    {
        var help = instrument.Description ?? instrument.Name;
        return instrument switch
        {
            Counter<long> or Counter<double> => _factory.CreateCounter(instrument.Name, help, labelNames),
            Histogram<double> => _factory.CreateHistogram(instrument.Name, help, labelNames, new HistogramConfiguration { Buckets = DurationBuckets }),
            _ => _factory.CreateGauge(instrument.Name, help, labelNames),
        };
    }

    private static string? At(string[] values, int i) => i < values.Length ? values[i] : null;

    // Up to three label values: every Rekey instrument has at most three labels.
    private readonly record struct Labels(string? First, string? Second, string? Third)
    {
        public string[] Values(int count) => [.. new[] { First, Second, Third }.Take(count).Select(v => v ?? string.Empty)];
    }
}
