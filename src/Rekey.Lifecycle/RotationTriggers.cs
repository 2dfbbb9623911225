using System.Globalization;
using Rekey.Keys;

namespace Rekey.Lifecycle;

/// <summary>When a key's time and usage triggers next fire, and which fires first.</summary>
internal static class RotationTriggers
{
    /// <summary>A trigger's due time, its cause (<c>periodic</c>, <c>expiry</c>, <c>cron</c>, <c>usage</c>), the policy field it comes from, and why.</summary>
    public sealed record Firing(DateTimeOffset At, string Cause, string Field, string Why);

    /// <summary>The earliest firing trigger of <paramref name="policy"/> for the Active version, or null when the policy has none.</summary>
    public static Firing? Due(LifecyclePolicy policy, KeyVersionInfo active, DateTimeOffset now)
    {
        var since = active.ActivatedAt ?? active.CreatedAt;
        var firings = new List<Firing>(4);
        if (policy.RotateEvery is { } period)
        {
            firings.Add(new Firing(since + period, "periodic", "rotate_every_seconds", $"active since {since:u}, cryptoperiod {DurationText.Format(period)}"));
        }

        if (policy.VersionLifetime is { } lifetime)
        {
            var lead = policy.RotateBeforeExpiry ?? TimeSpan.Zero;
            firings.Add(new Firing(since + lifetime - lead, "expiry", "version_lifetime_seconds", $"version {active.Version} expires {since + lifetime:u}, rotating {DurationText.Format(lead)} before"));
        }

        if (policy.Cron is { } text && PolicyRules.Cron(text) is { } cron && PolicyRules.Zone(policy.TimeZone) is { } zone
            && cron.GetNextOccurrence(since, zone) is { } next)
        {
            firings.Add(new Firing(next, "cron", "cron", $"cron '{text}' ({zone.Id}) after {since:u}"));
        }

        if (policy.MaxEncryptions is { } max && active.EncryptCount >= max)
        {
            firings.Add(new Firing(now, "usage", "max_encryptions", string.Create(CultureInfo.InvariantCulture, $"version {active.Version} encrypted {active.EncryptCount} times, limit {max}")));
        }

        return firings.Count == 0 ? null : firings.MinBy(f => f.At);
    }
}
