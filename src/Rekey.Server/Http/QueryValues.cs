using System.Globalization;
using Rekey.Errors;

namespace Rekey.Server.Http;

/// <summary>Reads query-string values, refusing malformed ones with <c>InvalidRequest</c>.</summary>
internal static class QueryValues
{
    /// <summary>An integer within bounds, or <paramref name="fallback"/> when absent.</summary>
    public static int Int(IQueryCollection query, string name, int fallback, int min, int max) =>
        (int)Long(query, name, fallback, min, max);

    /// <summary>A long within bounds, or <paramref name="fallback"/> when absent.</summary>
    public static long Long(IQueryCollection query, string name, long fallback, long min, long max)
    {
        var text = (string?)query[name];
        if (text is null)
        {
            return fallback;
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new RekeyException(RekeyErrorCode.InvalidRequest, string.Create(CultureInfo.InvariantCulture, $"Query parameter '{name}' must be a whole number from {min} to {max}."));
    }

    /// <summary>An ISO 8601 time, or null when absent.</summary>
    public static DateTimeOffset? Time(IQueryCollection query, string name)
    {
        var text = (string?)query[name];
        if (text is null)
        {
            return null;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value)
            ? value
            : throw new RekeyException(RekeyErrorCode.InvalidRequest, $"Query parameter '{name}' must be an ISO 8601 time such as 2026-11-22T10:00:00Z.");
    }
}
