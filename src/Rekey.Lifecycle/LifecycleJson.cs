using System.Text.Json.Serialization;

namespace Rekey.Lifecycle;

/// <summary>The JSON of stored policies, schedules and rotation documents: snake_case, nulls left out, unknown fields refused.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(LifecyclePolicy))]
[JsonSerializable(typeof(ScheduleNotes))]
[JsonSerializable(typeof(RotationDocument))]
internal sealed partial class LifecycleJson : JsonSerializerContext;
