namespace Rekey;

/// <summary>Settings of a <see cref="RekeyService"/>.</summary>
public sealed class RekeyServiceOptions
{
    /// <summary>
    /// How long a key's versions are trusted from memory before being read again from the store.
    /// Bounds how long another process's disable or destroy takes to reach this one when the store
    /// has no live change feed. Default 500 ms, so that bound stays under one second.
    /// </summary>
    public TimeSpan CacheTtl { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The same bound while the store's change feed (<see cref="Storage.IKeyChangeFeed"/>) is live:
    /// notifications invalidate at once, so this is only a safety net. Default 30 s.
    /// </summary>
    public TimeSpan NotifiedCacheTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The destruction delay given to new keys unless they say otherwise. Default 24 h.</summary>
    public TimeSpan DefaultDestructionDelay { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The actor recorded in audit events when a call names none. Default <c>local</c>.</summary>
    public string DefaultActor { get; set; } = "local";

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(CacheTtl, TimeSpan.Zero, nameof(CacheTtl));
        ArgumentOutOfRangeException.ThrowIfLessThan(NotifiedCacheTtl, TimeSpan.Zero, nameof(NotifiedCacheTtl));
        ArgumentOutOfRangeException.ThrowIfLessThan(DefaultDestructionDelay, TimeSpan.Zero, nameof(DefaultDestructionDelay));
        ArgumentException.ThrowIfNullOrWhiteSpace(DefaultActor, nameof(DefaultActor));
    }
}

/// <summary>Who asks for a change, and why; recorded in the audit event.</summary>
/// <param name="Actor">The principal (never a secret).</param>
/// <param name="Reason">Free text, for example an incident number.</param>
public sealed record ChangeContext(string Actor, string? Reason = null);

/// <summary>Options for a new key.</summary>
/// <param name="DestructionDelay">Overrides <see cref="RekeyServiceOptions.DefaultDestructionDelay"/>.</param>
public sealed record KeyCreateOptions(TimeSpan? DestructionDelay = null);

/// <summary>Options for a rotation.</summary>
/// <param name="ExpectedActiveVersion">When set, the rotation happens only if this is still the Active version (else <c>Conflict</c>).</param>
/// <param name="Activate">False stages the new version as Pending, to be activated later, so every instance knows it first.</param>
public sealed record RotateOptions(int? ExpectedActiveVersion = null, bool Activate = true);
