namespace Rekey.Lifecycle;

/// <summary>A rotation record's progress, stored as its JSON document.</summary>
internal sealed class RotationDocument
{
    /// <summary>When each phase was entered, by phase name.</summary>
    public Dictionary<string, DateTimeOffset> PhaseTimes { get; set; } = [];

    /// <summary>The re-wrap jobs started in the execute phase.</summary>
    public List<RotationJob> Jobs { get; set; } = [];

    /// <summary>Per registered source, values still under older versions (null: not counted since the rotation).</summary>
    public Dictionary<string, long?> Remaining { get; set; } = [];

    /// <summary>What it waits for, or why it failed and what to do.</summary>
    public string? Note { get; set; }

    /// <summary>The phase a failure happened in, which a retry goes back to.</summary>
    public string? FailedIn { get; set; }
}
