using System.Diagnostics.Metrics;
using Rekey.Keys;
using Rekey.Storage;

namespace Rekey.Server.Metrics;

/// <summary>
/// Gauges of the store's state: versions per state, how long Active versions have served,
/// inventory values per version state, re-wrap jobs, the scheduler's lag and the age of the latest
/// signed checkpoint. Read from the store once per scrape (<see cref="RefreshAsync"/>, a handful of
/// grouped queries) and reported from that snapshot.
/// </summary>
public sealed class StoreGauges
{
    // Cryptoperiods need every key's Active version and policy: read at most once a minute, not per scrape.
    private static readonly TimeSpan CryptoperiodScan = TimeSpan.FromMinutes(1);

    private readonly IStoreStatistics _statistics;
    private readonly Rekey.Rewrap.RewrapJobs _jobs;
    private readonly Rekey.Lifecycle.LifecyclePolicies _policies;
    private readonly RekeyMetrics _metrics;
    private readonly TimeProvider _time;
    private volatile Snapshot _snapshot = new(null, [], []);
    private volatile Cryptoperiods _periods = new(DateTimeOffset.MinValue, null, new Dictionary<KeyName, TimeSpan>());

    /// <summary>Creates the gauges on <paramref name="metrics"/>' meter.</summary>
    public StoreGauges(IStoreStatistics statistics, Rekey.Rewrap.RewrapJobs jobs, Rekey.Lifecycle.LifecyclePolicies policies, RekeyMetrics metrics, TimeProvider time)
    {
        _statistics = statistics;
        _jobs = jobs;
        _policies = policies;
        _metrics = metrics;
        _time = time;
        var meter = metrics.Meter;
        meter.CreateObservableGauge("rekey_key_versions", () => _snapshot.Statistics is { } s ? s.VersionsByState.Select(v => new Measurement<long>(v.Value, new KeyValuePair<string, object?>("state", v.Key.ToString()))) : [], "{version}", "Key versions in each lifecycle state.");
        meter.CreateObservableGauge("rekey_keys_active_version_age_max_seconds", () => Seconds(_snapshot.Statistics?.OldestActiveSince, _snapshot.At), "s", "How long the longest-serving Active version has been Active.");
        meter.CreateObservableGauge("rekey_key_active_version_age_seconds", () => _snapshot.PerKeyActive.Select(k => new Measurement<double>((_snapshot.At - k.ActiveSince).TotalSeconds, new KeyValuePair<string, object?>("key", k.Key.Value))), "s", "How long each key's Active version has been Active (keys matching metrics_key_patterns only).");
        meter.CreateObservableGauge("rekey_keys_active_version_encryptions_max", MostEncryptions, "{encryption}", "The most messages any Active version has encrypted, against the usage limit (2^30 by default, a fraction of the NIST SP 800-38D bound for random nonces).");
        meter.CreateObservableGauge("rekey_inventory_values", () => _snapshot.Statistics is { } s ? s.ValuesByVersionState.Select(v => new Measurement<long>(v.Value, new KeyValuePair<string, object?>("state", v.Key.ToString()))) : [], "{value}", "Values the latest inventory counted, by the state of the version they are under.");
        meter.CreateObservableGauge("rekey_scheduler_lag_seconds", () => Lag(), "s", "How long the most overdue key has waited for the lifecycle scheduler (0 when none is overdue).");
        meter.CreateObservableGauge("rekey_scheduler_next_due_seconds", () => Until(_snapshot.Statistics?.EarliestDue, _snapshot.At), "s", "Seconds until the scheduler is next due to act on a key (negative when overdue).");
        meter.CreateObservableGauge("rekey_audit_checkpoint_age_seconds", () => Seconds(_snapshot.Statistics?.LastCheckpointAt, _snapshot.At), "s", "Seconds since the latest signed audit checkpoint.");
        meter.CreateObservableGauge("rekey_keys_cryptoperiod_used_ratio_max", () => _periods.MaxUsed is { } used ? [new Measurement<double>(used)] : Array.Empty<Measurement<double>>(), "1", "The largest share of its cryptoperiod (rotate_every or version_lifetime) any Active version has served; above 1 the period is overrun. Recomputed once a minute.");
        meter.CreateObservableGauge("rekey_key_cryptoperiod_seconds", () => _snapshot.PerKeyActive.Where(k => _periods.PerKey.ContainsKey(k.Key)).Select(k => new Measurement<double>(_periods.PerKey[k.Key].TotalSeconds, new KeyValuePair<string, object?>("key", k.Key.Value))), "s", "Each key's cryptoperiod under its policy (keys matching metrics_key_patterns, with a period, only).");
        meter.CreateObservableGauge("rekey_key_next_rotation_seconds", () => _snapshot.PerKeyActive.Where(k => _periods.PerKey.ContainsKey(k.Key)).Select(k => new Measurement<double>((k.ActiveSince + _periods.PerKey[k.Key] - _snapshot.At).TotalSeconds, new KeyValuePair<string, object?>("key", k.Key.Value))), "s", "Seconds until each key's cryptoperiod ends and its periodic rotation is due (negative when overdue; keys matching metrics_key_patterns, with a period, only).");
        meter.CreateObservableGauge("rekey_approvals_pending", () => _snapshot.Statistics is { } s ? [new Measurement<long>(s.PendingApprovals)] : Array.Empty<Measurement<long>>(), "{approval}", "Operations waiting for approvers (dual control).");
        meter.CreateObservableGauge("rekey_approval_oldest_pending_age_seconds", () => Seconds(_snapshot.Statistics?.OldestPendingApprovalAt, _snapshot.At), "s", "How long the longest-waiting approval has waited for approvers.");
        meter.CreateObservableGauge("rekey_rotation_oldest_open_age_seconds", () => Seconds(_snapshot.Statistics?.OldestOpenRotationAt, _snapshot.At), "s", "Age of the oldest rotation whose re-wrap and verification are not done.");
        meter.CreateObservableGauge("rekey_rewrap_jobs", () => _snapshot.Jobs.GroupBy(j => j.State).Select(g => new Measurement<long>(g.Count(), new KeyValuePair<string, object?>("state", g.Key))), "{job}", "Re-wrap jobs by state.");
        meter.CreateObservableGauge("rekey_rewrap_rows_done", () => _snapshot.Jobs.Select(j => j.Done).DefaultIfEmpty(0).Sum(), "{row}", "Rows re-wrap jobs have processed, over every job in the store.");
        meter.CreateObservableGauge("rekey_rewrap_rows_per_second", () => _snapshot.Jobs.Where(j => j.State == "running").Select(j => j.Rate).DefaultIfEmpty(0).Sum(), "{row}/s", "The combined rate of the running re-wrap jobs.");
    }

    /// <summary>Reads the store's state for the next scrape.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var statistics = await _statistics.GetStatisticsAsync(cancellationToken).ConfigureAwait(false);
        var jobs = (await _jobs.ListAsync(cancellationToken).ConfigureAwait(false)).Select(j => (State: j.State.ToString().ToLowerInvariant(), j.Done, Rate: j.RowsPerSecond)).ToList();
        var now = _time.GetUtcNow();
        IReadOnlyList<(KeyName Key, DateTimeOffset ActiveSince)> perKey = [];
        if (now - _periods.At >= CryptoperiodScan)
        {
            // Once a minute every Active version is read for the cryptoperiods; the per-key series come from the same read.
            var active = await _statistics.GetActiveSinceAsync(_ => true, cancellationToken).ConfigureAwait(false);
            var periods = await _policies.CryptoperiodsAsync(active.Select(a => a.Key), cancellationToken).ConfigureAwait(false);
            var used = active.Where(a => periods.ContainsKey(a.Key)).Select(a => (now - a.ActiveSince) / periods[a.Key]).DefaultIfEmpty(double.NaN).Max();
            _periods = new Cryptoperiods(now, double.IsNaN(used) ? null : used, periods.Where(p => _metrics.HasOwnSeries(p.Key)).ToDictionary());
            perKey = _metrics.HasPerKeySeries ? active.Where(a => _metrics.HasOwnSeries(a.Key)).ToList() : [];
        }
        else if (_metrics.HasPerKeySeries)
        {
            // Per-key series only when metrics_key_patterns asks for them: otherwise a scrape reads no row per key.
            perKey = await _statistics.GetActiveSinceAsync(_metrics.HasOwnSeries, cancellationToken).ConfigureAwait(false);
        }

        _snapshot = new Snapshot(statistics, perKey, jobs) { At = now };
    }

    private IEnumerable<Measurement<long>> MostEncryptions() =>
        _snapshot.Statistics is { } statistics ? [new Measurement<long>(statistics.MostActiveEncryptions)] : [];

    private IEnumerable<Measurement<double>> Lag()
    {
        var snapshot = _snapshot;
        return snapshot.Statistics is null ? [] : [new(snapshot.Statistics.EarliestDue is { } due && due < snapshot.At ? (snapshot.At - due).TotalSeconds : 0)];
    }

    private static IEnumerable<Measurement<double>> Seconds(DateTimeOffset? since, DateTimeOffset now) =>
        since is { } at ? [new((now - at).TotalSeconds)] : [];

    private static IEnumerable<Measurement<double>> Until(DateTimeOffset? when, DateTimeOffset now) =>
        when is { } at ? [new((at - now).TotalSeconds)] : [];

    private sealed record Cryptoperiods(DateTimeOffset At, double? MaxUsed, IReadOnlyDictionary<KeyName, TimeSpan> PerKey);

    private sealed record Snapshot(
        StoreStatistics? Statistics,
        IReadOnlyList<(KeyName Key, DateTimeOffset ActiveSince)> PerKeyActive,
        IReadOnlyList<(string State, long Done, double Rate)> Jobs)
    {
        public DateTimeOffset At { get; init; }
    }
}
