using Rekey.Keys;

namespace Rekey.Storage;

/// <summary>A key's row in the store: its name and configuration.</summary>
/// <param name="Name">The key's name.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="MinDecryptionVersion">Versions below this refuse to decrypt.</param>
/// <param name="DestructionDelay">How long a version waits in DestroyScheduled.</param>
/// <param name="DeletionAllowed">Whether the key may be deleted (with every version's material).</param>
public sealed record StoredKey(KeyName Name, DateTimeOffset CreatedAt, int MinDecryptionVersion, TimeSpan DestructionDelay, bool DeletionAllowed = false);

/// <summary>A key version's row: what is known of it plus its material, wrapped by the root key.</summary>
/// <param name="Info">State, times and counts.</param>
/// <param name="WrappedMaterial">The KEK wrapped by the root key; null once destroyed.</param>
/// <param name="RootKeyId">Which root key wrapped the material.</param>
public sealed record StoredKeyVersion(KeyVersionInfo Info, byte[]? WrappedMaterial, string RootKeyId);

/// <summary>A conditional update of one version: applied only if the stored state is still <paramref name="ExpectedState"/>.</summary>
/// <param name="Updated">The whole new row.</param>
/// <param name="ExpectedState">The state the row must be in for the update to apply.</param>
public sealed record VersionUpdate(StoredKeyVersion Updated, KeyVersionState ExpectedState);

/// <summary>
/// One atomic change to a key: conditional version updates applied in order, an optional new
/// version, an optional new key row, and the audit event that records it. The store applies all
/// of it in one transaction or none of it.
/// </summary>
/// <param name="Key">The key changed.</param>
/// <param name="Updates">Version updates, in order (a demotion of the Active version comes before its replacement).</param>
/// <param name="Insert">A new version, inserted after the updates; its number must be free.</param>
/// <param name="KeyUpdate">A new configuration row for the key.</param>
/// <param name="Audit">The audit event for the change.</param>
/// <param name="Rotation">For a rotation, its record, inserted in the same transaction.</param>
/// <param name="SpendsImportToken">For an import, the token it spends: the change fails with <c>ImportRefused</c>, writing nothing, unless the token is for this key, unspent and unexpired at the audit event's time.</param>
public sealed record KeyChange(
    KeyName Key,
    IReadOnlyList<VersionUpdate> Updates,
    StoredKeyVersion? Insert,
    StoredKey? KeyUpdate,
    Audit.AuditRecord Audit,
    StoredRotation? Rotation = null,
    string? SpendsImportToken = null)
{
    /// <summary>True when the change erases a version's material (a destruction): the store then scrubs old copies.</summary>
    public bool ErasesMaterial => Updates.Any(u => u.Updated.WrappedMaterial is null && u.ExpectedState != KeyVersionState.Destroyed);
}

/// <summary>Usage to add to a version's counters.</summary>
/// <param name="Key">The key.</param>
/// <param name="Version">The version.</param>
/// <param name="Encrypts">Encryptions to add.</param>
/// <param name="Decrypts">Decryptions to add.</param>
public readonly record struct UsageDelta(KeyName Key, int Version, long Encrypts, long Decrypts);
