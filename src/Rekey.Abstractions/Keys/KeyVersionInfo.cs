namespace Rekey.Keys;

/// <summary>
/// What is known of one key version, without its material: state, times and usage counts.
/// </summary>
/// <param name="Key">The key this version belongs to.</param>
/// <param name="Version">The version number, from 1.</param>
/// <param name="State">The lifecycle state.</param>
/// <param name="CreatedAt">When the version was created.</param>
/// <param name="ActivatedAt">When it became Active, if it ever did.</param>
/// <param name="DeactivatedAt">When it stopped being Active, if it did.</param>
/// <param name="RetireDeadline">For a Retiring version, when its grace period ends.</param>
/// <param name="DestroyAfter">For a version scheduled for destruction, when destruction becomes allowed.</param>
/// <param name="DestroyedAt">When its material was erased, if it was.</param>
/// <param name="EncryptCount">How many messages it has encrypted (flushed counts).</param>
/// <param name="DecryptCount">How many messages it has decrypted (flushed counts).</param>
public sealed record KeyVersionInfo(
    KeyName Key,
    int Version,
    KeyVersionState State,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ActivatedAt,
    DateTimeOffset? DeactivatedAt,
    DateTimeOffset? RetireDeadline,
    DateTimeOffset? DestroyAfter,
    DateTimeOffset? DestroyedAt,
    long EncryptCount,
    long DecryptCount);
