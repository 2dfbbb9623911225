using System.Text.Json;
using System.Text.Json.Serialization;

namespace Rekey.Lifecycle;

/// <summary>A duration in JSON as a whole number of seconds, as the API writes every duration.</summary>
public sealed class DurationSecondsJsonConverter : JsonConverter<TimeSpan?>
{
    /// <summary>The longest duration accepted: 100 years.</summary>
    public static readonly long MaxSeconds = 100L * 366 * 24 * 3600;

    /// <inheritdoc />
    public override bool HandleNull => true;

    /// <inheritdoc />
    public override TimeSpan? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var seconds) || seconds < 0 || seconds > MaxSeconds)
        {
            throw new JsonException($"A duration is a whole number of seconds from 0 to {MaxSeconds}.");
        }

        return TimeSpan.FromSeconds(seconds);
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, TimeSpan? value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (value is { } v)
        {
            writer.WriteNumberValue((long)v.TotalSeconds);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}
