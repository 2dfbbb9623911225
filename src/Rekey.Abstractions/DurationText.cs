using System.Globalization;

namespace Rekey;

/// <summary>Durations as people write them on the command line and read them in messages: <c>30s</c>, <c>15m</c>, <c>24h</c>, <c>7d</c>.</summary>
public static class DurationText
{
    /// <summary>The largest whole unit that divides the duration: days, then hours, minutes, seconds.</summary>
    public static string Format(TimeSpan t) =>
        t.TotalSeconds == 0 ? "0s"
        : t.TotalDays == Math.Floor(t.TotalDays) ? string.Create(CultureInfo.InvariantCulture, $"{t.TotalDays:0}d")
        : t.TotalHours == Math.Floor(t.TotalHours) ? string.Create(CultureInfo.InvariantCulture, $"{t.TotalHours:0}h")
        : t.TotalMinutes == Math.Floor(t.TotalMinutes) ? string.Create(CultureInfo.InvariantCulture, $"{t.TotalMinutes:0}m")
        : string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0}s");
}
