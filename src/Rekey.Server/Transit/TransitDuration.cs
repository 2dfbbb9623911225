using System.Globalization;
using System.Text.Json;
using Rekey.Errors;

namespace Rekey.Server.Transit;

/// <summary>
/// Vault's durations: a whole number of seconds (as a number or text), or text such as
/// <c>24h</c>, <c>90m</c>, <c>1h30m</c> or <c>7d</c> (units s, m, h, d).
/// </summary>
internal static class TransitDuration
{
    /// <summary>The duration in <paramref name="field"/>, or null when absent; 400 when it cannot be read.</summary>
    public static TimeSpan? Read(JsonElement item, string field)
    {
        if (!TransitBody.Has(item, field))
        {
            return null;
        }

        var value = item.GetProperty(field);
        if (value.ValueKind == JsonValueKind.Number)
        {
            return value.TryGetInt64(out var seconds) && seconds >= 0 && seconds <= 100L * 365 * 86400
                ? TimeSpan.FromSeconds(seconds)
                : throw Invalid(field);
        }

        return value.ValueKind == JsonValueKind.String && Parse(value.GetString()!) is { } parsed ? parsed : throw Invalid(field);
    }

    /// <summary>Parses the text form; null when it is not one.</summary>
    public static TimeSpan? Parse(string text)
    {
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var plain))
        {
            return plain <= 100L * 365 * 86400 ? TimeSpan.FromSeconds(plain) : null;
        }

        var total = TimeSpan.Zero;
        var span = text.AsSpan();
        if (span.IsEmpty)
        {
            return null;
        }

        while (!span.IsEmpty)
        {
            var digits = 0;
            while (digits < span.Length && char.IsAsciiDigit(span[digits]))
            {
                digits++;
            }

            if (digits == 0 || digits == span.Length || digits > 9)
            {
                return null;
            }

            var n = long.Parse(span[..digits], NumberStyles.None, CultureInfo.InvariantCulture);
            long? unitSeconds = span[digits] switch { 's' => 1, 'm' => 60, 'h' => 3600, 'd' => 86400, _ => null };
            if (unitSeconds is not { } unit)
            {
                return null;
            }

            total += TimeSpan.FromSeconds(n * unit);
            if (total < TimeSpan.Zero || total > TimeSpan.FromDays(100 * 365))
            {
                return null;
            }

            span = span[(digits + 1)..];
        }

        return total;
    }

    private static RekeyException Invalid(string field) =>
        new(RekeyErrorCode.InvalidRequest, $"'{field}' must be a number of seconds or a duration such as '24h'");
}
