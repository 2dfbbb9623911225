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

    /// <summary>
    /// Where every signed audit checkpoint is also written, outside the store (see
    /// <see cref="Audit.IAuditWitness"/>). Null keeps checkpoints only in the store, where
    /// whoever can write it can delete them with the events they cover.
    /// </summary>
    public Audit.IAuditWitness? AuditWitness { get; set; }

    /// <summary>Most keys in the store; creating one more is refused with <c>LimitExceeded</c>. Default 1,000,000.</summary>
    public long MaxKeys { get; set; } = 1_000_000;

    /// <summary>Most versions of one key; rotating once more is refused with <c>LimitExceeded</c>. Default 10,000.</summary>
    public int MaxVersionsPerKey { get; set; } = 10_000;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(CacheTtl, TimeSpan.Zero, nameof(CacheTtl));
        ArgumentOutOfRangeException.ThrowIfLessThan(NotifiedCacheTtl, TimeSpan.Zero, nameof(NotifiedCacheTtl));
        ArgumentOutOfRangeException.ThrowIfLessThan(DefaultDestructionDelay, TimeSpan.Zero, nameof(DefaultDestructionDelay));
        ArgumentException.ThrowIfNullOrWhiteSpace(DefaultActor, nameof(DefaultActor));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxKeys, 1, nameof(MaxKeys));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxVersionsPerKey, 2, nameof(MaxVersionsPerKey));
    }

    /// <summary>
    /// Asked before a version is destroyed (by hand or by a policy) and when a key rotates; null
    /// checks nothing beyond state and delay. The lifecycle library's <c>InventoryGate</c> holds
    /// destruction to the inventory of the registered data sources.
    /// </summary>
    public IDataInventory? Inventory { get; set; }

    /// <summary>
    /// Dual control: asked before destroying, disabling, scheduling destruction, deleting a key,
    /// changing its configuration and rotating by hand; null holds nothing for approval.
    /// </summary>
    public IApprovalGate? Approvals { get; set; }
}
