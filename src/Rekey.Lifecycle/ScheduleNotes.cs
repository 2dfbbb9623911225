namespace Rekey.Lifecycle;

/// <summary>What the scheduler remembers about one key between looks (stored with its schedule).</summary>
internal sealed class ScheduleNotes
{
    /// <summary>Per version, when the scheduler first saw it Disabled (its disabled period counts from then).</summary>
    public Dictionary<int, DateTimeOffset> DisabledSeen { get; set; } = [];

    /// <summary>Per version, why retention is holding it now, for <c>rekey policy show</c>.</summary>
    public Dictionary<int, string> Waiting { get; set; } = [];

    /// <summary>The last thing the scheduler did to the key, and when.</summary>
    public string? LastAction { get; set; }
}
