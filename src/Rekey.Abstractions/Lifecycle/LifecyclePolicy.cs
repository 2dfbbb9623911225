using System.Text.Json.Serialization;

namespace Rekey.Lifecycle;

/// <summary>
/// How keys matching a pattern rotate and how their old versions are retired and destroyed. Every
/// field is optional: a key's effective policy takes each field from the most specific pattern that
/// sets it (an exact name, then the longest <c>prefix/*</c>, then <c>*</c>).
/// </summary>
/// <remarks>
/// Rotation triggers combine: the key rotates at the earliest of them. Retention moves a version
/// that is no longer Active through DecryptOnly, Disabled, DestroyScheduled and Destroyed only when
/// every retention rule that is set allows it.
/// </remarks>
public sealed record LifecyclePolicy
{
    /// <summary>
    /// The usage limit <c>rekey policy set --max-encryptions default</c> sets: 2^30, a quarter of
    /// the 2^32 invocations NIST SP 800-38D allows one AES-GCM key with random nonces. (A version
    /// key wraps data keys with AES-KWP and uses no nonce; the figure is a conservative bound on
    /// how much one version protects, borrowed from the best-known limit.)
    /// </summary>
    public const long DefaultMaxEncryptions = 1L << 30;

    /// <summary>Periodic trigger: rotate when the Active version has been active this long (its cryptoperiod).</summary>
    [JsonPropertyName("rotate_every_seconds")]
    [JsonConverter(typeof(DurationSecondsJsonConverter))]
    public TimeSpan? RotateEvery { get; init; }

    /// <summary>A version expires this long after it became Active; with <see cref="RotateBeforeExpiry"/>, the key rotates before that.</summary>
    [JsonPropertyName("version_lifetime_seconds")]
    [JsonConverter(typeof(DurationSecondsJsonConverter))]
    public TimeSpan? VersionLifetime { get; init; }

    /// <summary>Before-expiry trigger: rotate this long before the Active version expires (default: at expiry).</summary>
    [JsonPropertyName("rotate_before_expiry_seconds")]
    [JsonConverter(typeof(DurationSecondsJsonConverter))]
    public TimeSpan? RotateBeforeExpiry { get; init; }

    /// <summary>Cron trigger: a five-field (or six, with seconds) cron expression.</summary>
    public string? Cron { get; init; }

    /// <summary>The IANA time zone <see cref="Cron"/> and <see cref="RewrapWindow"/> are read in (default UTC).</summary>
    public string? TimeZone { get; init; }

    /// <summary>Usage trigger: rotate when the Active version has encrypted this many times (counted across instances).</summary>
    public long? MaxEncryptions { get; init; }

    /// <summary>Staged activation: a rotation creates the new version Pending and activates it after this delay, so every instance and cache holds it first.</summary>
    [JsonPropertyName("pending_seconds")]
    [JsonConverter(typeof(DurationSecondsJsonConverter))]
    public TimeSpan? PendingFor { get; init; }

    /// <summary>Minimum retention: a version stays decryptable at least this long after it stopped being Active.</summary>
    [JsonPropertyName("retain_seconds")]
    [JsonConverter(typeof(DurationSecondsJsonConverter))]
    public TimeSpan? RetainFor { get; init; }

    /// <summary>Keep the newest this many versions (the Active one included) decryptable whatever else the rules say.</summary>
    public int? KeepVersions { get; init; }

    /// <summary>Until re-encrypted: a version moves on only when the latest inventory of every registered source holding the key shows no value under it.</summary>
    public bool? UntilReencrypted { get; init; }

    /// <summary>How long a version stays Disabled (reversible) before its destruction is scheduled (default 0).</summary>
    [JsonPropertyName("disabled_seconds")]
    [JsonConverter(typeof(DurationSecondsJsonConverter))]
    public TimeSpan? DisabledFor { get; init; }

    /// <summary>Whether old versions go on to be destroyed (after the key's destruction delay); false or unset stops at Disabled.</summary>
    public bool? Destroy { get; init; }

    /// <summary>After a rotation, start a re-wrap job over every registered data source that holds the key.</summary>
    public bool? AutoRewrap { get; init; }

    /// <summary>The throttle of those jobs, in rows per second (0 or unset: unthrottled).</summary>
    public int? RewrapRowsPerSecond { get; init; }

    /// <summary>When those jobs may run, <c>HH:mm-HH:mm</c> in <see cref="TimeZone"/>; outside it they are paused.</summary>
    public string? RewrapWindow { get; init; }

    /// <summary>
    /// Each record's encryption context, with <c>{id}</c> for its id (as re-wrap jobs take it): with
    /// it, those jobs decrypt a sample of the values they moved, and the rotation fails if any does not.
    /// </summary>
    public string? RewrapContextTemplate { get; init; }

    /// <summary><c>text</c> (default) or <c>pairs</c>: the form of <see cref="RewrapContextTemplate"/>, as the application encrypted with.</summary>
    public string? RewrapContextForm { get; init; }

    /// <summary>
    /// Dual control: the operations (<see cref="Approvals.ApprovalOperations"/>) on matching keys
    /// that run only once <see cref="ApprovalsRequired"/> approvers other than the requester approve.
    /// Unlike the other fields, approval rules add up across every matching policy.
    /// </summary>
    public IReadOnlyList<string>? RequireApproval { get; init; }

    /// <summary>How many distinct approvers an operation under <see cref="RequireApproval"/> needs (default 1, so two people in all).</summary>
    public int? ApprovalsRequired { get; init; }

    /// <summary>How long a request waits for its approvers before it lapses (default 24 hours).</summary>
    [JsonPropertyName("approval_expires_seconds")]
    [JsonConverter(typeof(DurationSecondsJsonConverter))]
    public TimeSpan? ApprovalExpiresAfter { get; init; }
}

/// <summary>A policy as set on a pattern.</summary>
/// <param name="Pattern">The key-name pattern (<c>tenants/*</c>, an exact name, or <c>*</c>).</param>
/// <param name="Policy">Its fields.</param>
/// <param name="UpdatedAt">When it was last set.</param>
public sealed record PolicyEntry(string Pattern, LifecyclePolicy Policy, DateTimeOffset UpdatedAt);

/// <summary>The policy a key actually follows, with the pattern each field came from.</summary>
/// <param name="Key">The key.</param>
/// <param name="Policy">The merged fields.</param>
/// <param name="Sources">For each field set (by its API name, for example <c>rotate_every_seconds</c>), the pattern it came from.</param>
/// <param name="NextDue">When the scheduler will next look at the key, if it will.</param>
/// <param name="Waiting">Per version, what retention is waiting for (a time, the inventory, a failed rotation), as the scheduler last saw it.</param>
/// <param name="LastAction">The last thing the scheduler did to the key (or why it could not), and when.</param>
public sealed record EffectivePolicy(Keys.KeyName Key, LifecyclePolicy Policy, IReadOnlyDictionary<string, string> Sources, DateTimeOffset? NextDue, IReadOnlyDictionary<int, string> Waiting, string? LastAction);
