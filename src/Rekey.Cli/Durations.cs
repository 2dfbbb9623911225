using System.Globalization;

namespace Rekey.Cli;

/// <summary>Durations on the command line: a whole number with a unit, <c>500ms</c>, <c>30s</c>, <c>15m</c>, <c>24h</c>, <c>7d</c>.</summary>
internal static class Durations
{
    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = default;
        if (text.EndsWith("ms", StringComparison.Ordinal))
        {
            if (!int.TryParse(text.AsSpan(0, text.Length - 2), NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
            {
                return false;
            }

            duration = TimeSpan.FromMilliseconds(ms);
            return true;
        }

        if (text.Length < 2 || !long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > 36_500L * 24 * 3600)
        {
            return false;
        }

        TimeSpan? parsed = text[^1] switch
        {
            's' => TimeSpan.FromSeconds(n),
            'm' => TimeSpan.FromMinutes(n),
            'h' => TimeSpan.FromHours(n),
            'd' => TimeSpan.FromDays(n),
            _ => null,
        };
        if (parsed is null || parsed > TimeSpan.FromDays(36_500))
        {
            return false;
        }

        duration = parsed.Value;
        return true;
    }

    public static string Format(TimeSpan t) => DurationText.Format(t);
}
