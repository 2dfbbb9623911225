using Rekey.Keys;

namespace Rekey.Rewrap;

/// <summary>A job's progress, as shown by the API and the CLI. Never carries credentials or key material.</summary>
/// <param name="Id">The job's id.</param>
/// <param name="Key">The key.</param>
/// <param name="Source">The source, without credentials.</param>
/// <param name="Mode">Rewrap or reencrypt.</param>
/// <param name="State">Where it stands.</param>
/// <param name="TargetVersion">The version values move to (the Active version when the job started).</param>
/// <param name="Pass">The pass, from 1; a new pass revisits rows an application changed during the last.</param>
/// <param name="Done">Rows looked at in this pass.</param>
/// <param name="Total">Rows in the source when this pass started.</param>
/// <param name="Rewrapped">Values moved to the target version, all passes.</param>
/// <param name="AlreadyCurrent">Values found at the target version or newer.</param>
/// <param name="Skipped">Rows changed by the application between read and write, left alone for the next pass.</param>
/// <param name="Failed">Values that could not be moved (see the failures).</param>
/// <param name="RowsPerSecond">Rows looked at per second of running time.</param>
/// <param name="Eta">Time left in this pass at that rate.</param>
/// <param name="PerVersion">Values seen in this pass by the version they were under.</param>
/// <param name="Verification">The verification's result, once run.</param>
/// <param name="Error">Why it failed.</param>
/// <param name="StartedAt">When it was created.</param>
/// <param name="FinishedAt">When it ended.</param>
public sealed record RewrapJobStatus(
    string Id,
    KeyName Key,
    string Source,
    RewrapMode Mode,
    RewrapJobState State,
    int TargetVersion,
    int Pass,
    long Done,
    long Total,
    long Rewrapped,
    long AlreadyCurrent,
    long Skipped,
    long Failed,
    double RowsPerSecond,
    TimeSpan? Eta,
    IReadOnlyDictionary<int, long> PerVersion,
    string? Verification,
    string? Error,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt);
