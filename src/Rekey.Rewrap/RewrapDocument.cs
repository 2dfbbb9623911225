using System.Text.Json;
using System.Text.Json.Serialization;
using Rekey.Keys;

namespace Rekey.Rewrap;

/// <summary>The JSON document a job is stored as: its definition and its checkpoint.</summary>
internal sealed class RewrapDocument
{
    public required RewrapJobDefinition Definition { get; init; }

    public required string SourceName { get; init; }

    public int TargetVersion { get; set; }

    public int Pass { get; set; } = 1;

    /// <summary>The id of the last row of the last batch written, as JSON (number or string); null at a pass's start.</summary>
    public JsonElement? Position { get; set; }

    public long Done { get; set; }

    public long Total { get; set; }

    public long Rewrapped { get; set; }

    public long AlreadyCurrent { get; set; }

    public long Skipped { get; set; }

    public long PassSkipped { get; set; }

    public long Failed { get; set; }

    public Dictionary<int, long> PerVersion { get; set; } = [];

    /// <summary>Values by the version they are under after this pass's writes: the inventory when the pass is clean.</summary>
    public Dictionary<int, long> Inventory { get; set; } = [];

    public long RunningMilliseconds { get; set; }

    public string? Verification { get; set; }

    public string? Error { get; set; }

    public DateTimeOffset StartedAt { get; init; }

    public DateTimeOffset? FinishedAt { get; set; }

    public object? PositionValue(IdKind kind) => Position is not { } p ? null : kind == IdKind.Integer ? p.GetInt64() : p.GetString();

    public void SetPosition(object? id) => Position = id is null ? null : JsonSerializer.SerializeToElement(id, id is long ? RewrapJson.Default.Int64 : RewrapJson.Default.String);

    public string Serialize() => JsonSerializer.Serialize(this, RewrapJson.Default.RewrapDocument);

    public static RewrapDocument Parse(string json) => JsonSerializer.Deserialize(json, RewrapJson.Default.RewrapDocument)
        ?? throw new InvalidDataException("A stored re-wrap job has no document.");
}

/// <summary>Key names as plain strings in job documents.</summary>
internal sealed class KeyNameJsonConverter : JsonConverter<KeyName>
{
    public override KeyName Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => KeyName.Parse(reader.GetString()!);

    public override void Write(Utf8JsonWriter writer, KeyName value, JsonSerializerOptions options) => writer.WriteStringValue(value.Value);
}

/// <summary>The job document's JSON.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, UseStringEnumConverter = true, Converters = [typeof(KeyNameJsonConverter)])]
[JsonSerializable(typeof(RewrapDocument))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(string))]
internal sealed partial class RewrapJson : JsonSerializerContext;
