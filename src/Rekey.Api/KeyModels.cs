namespace Rekey.Api;

/// <summary>Body of <c>POST /v1/keys/{name}</c>.</summary>
/// <param name="DestructionDelaySeconds">How long a version waits between schedule-destroy and destroy (default: the server's, 24 h).</param>
/// <param name="DeletionAllowed">Whether the key may later be deleted (default false).</param>
/// <param name="Reason">Recorded in the audit log.</param>
public sealed record KeyCreateRequest(long? DestructionDelaySeconds = null, bool? DeletionAllowed = null, string? Reason = null);

/// <summary>Body of <c>PATCH /v1/keys/{name}</c>; absent fields stay as they are.</summary>
/// <param name="MinDecryptionVersion">Versions below this refuse to decrypt (at most the Active version).</param>
/// <param name="DestructionDelaySeconds">The new destruction delay.</param>
/// <param name="DeletionAllowed">Whether the key may be deleted.</param>
/// <param name="Reason">Recorded in the audit log.</param>
public sealed record KeyUpdateRequest(int? MinDecryptionVersion = null, long? DestructionDelaySeconds = null, bool? DeletionAllowed = null, string? Reason = null);

/// <summary>A key: its configuration, version summary and, when read one at a time, its versions.</summary>
/// <param name="Name">The key's name.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="MinDecryptionVersion">Versions below this refuse to decrypt.</param>
/// <param name="DestructionDelaySeconds">Delay between schedule-destroy and destroy.</param>
/// <param name="DeletionAllowed">Whether the key may be deleted.</param>
/// <param name="ActiveVersion">The version that encrypts.</param>
/// <param name="LatestVersion">The highest version number.</param>
/// <param name="Versions">In a single-key read, a page of its versions in version order (absent in lists).</param>
/// <param name="NextVersionsAfter">Pass as <c>versions_after</c> for the next page; absent on the last.</param>
public sealed record KeyResource(
    string Name,
    DateTimeOffset CreatedAt,
    int MinDecryptionVersion,
    long DestructionDelaySeconds,
    bool DeletionAllowed,
    int ActiveVersion,
    int LatestVersion,
    IReadOnlyList<VersionResource>? Versions,
    int? NextVersionsAfter = null);

/// <summary>A key version: state, times and usage counts. Never material.</summary>
/// <param name="Key">The key.</param>
/// <param name="Version">The version number.</param>
/// <param name="State">Pending, Active, DecryptOnly, Retiring, Disabled, DestroyScheduled or Destroyed.</param>
/// <param name="CreatedAt">When created.</param>
/// <param name="ActivatedAt">When it became Active.</param>
/// <param name="DeactivatedAt">When it stopped being Active.</param>
/// <param name="RetireDeadline">End of a Retiring version's grace period.</param>
/// <param name="DestroyAfter">When a scheduled destruction becomes allowed.</param>
/// <param name="DestroyedAt">When its material was erased.</param>
/// <param name="EncryptCount">Encryptions counted so far.</param>
/// <param name="DecryptCount">Decryptions counted so far.</param>
/// <param name="Origin"><c>generated</c> by Rekey, or <c>imported</c> (bring your own key).</param>
public sealed record VersionResource(
    string Key,
    int Version,
    string State,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ActivatedAt,
    DateTimeOffset? DeactivatedAt,
    DateTimeOffset? RetireDeadline,
    DateTimeOffset? DestroyAfter,
    DateTimeOffset? DestroyedAt,
    long EncryptCount,
    long DecryptCount,
    string Origin = "generated");

/// <summary>Body of <c>POST /v1/import-token/{name}</c>.</summary>
/// <param name="ValidForSeconds">How long the token is good for (default 86400, at most 604800).</param>
/// <param name="Reason">Recorded in the audit log.</param>
public sealed record ImportTokenRequest(long? ValidForSeconds = null, string? Reason = null);

/// <summary>An import token: wrap the material under <c>PublicKey</c> with <c>Algorithm</c>, then send it to <c>POST /v1/import/{name}</c> with <c>Token</c>.</summary>
/// <param name="Key">The key the import adds a version to.</param>
/// <param name="Token">The token to send back with the wrapped material; good for one import.</param>
/// <param name="PublicKey">The RSA-4096 public key, PEM.</param>
/// <param name="Algorithm"><c>RSA-OAEP-SHA256</c>: OAEP with SHA-256 and MGF1-SHA-256, no label.</param>
/// <param name="ExpiresAt">When the token stops being usable.</param>
public sealed record ImportTokenResource(string Key, string Token, string PublicKey, string Algorithm, DateTimeOffset ExpiresAt);

/// <summary>Body of <c>POST /v1/import/{name}</c>.</summary>
/// <param name="Token">The import token.</param>
/// <param name="WrappedMaterial">The 32-byte material wrapped under the token's public key (base64, 512 bytes decoded).</param>
/// <param name="Pending">Stage the new version as Pending instead of making it Active.</param>
/// <param name="Reason">Recorded in the audit log.</param>
public sealed record ImportRequest(string? Token = null, string? WrappedMaterial = null, bool? Pending = null, string? Reason = null);

/// <summary>A page of keys from <c>GET /v1/keys</c>.</summary>
/// <param name="Keys">The keys, in name order.</param>
/// <param name="NextAfter">Pass as <c>after</c> for the next page; null on the last page.</param>
public sealed record KeyListResponse(IReadOnlyList<KeyResource> Keys, string? NextAfter);

/// <summary>Body of <c>POST /v1/rotate/{name}</c>.</summary>
/// <param name="ExpectedVersion">Rotate only if this is still the Active version (else 409 Conflict).</param>
/// <param name="Pending">Stage the new version as Pending instead of making it Active.</param>
/// <param name="Reason">Recorded in the audit log.</param>
public sealed record RotateRequest(int? ExpectedVersion = null, bool? Pending = null, string? Reason = null);

/// <summary>Body of the version transitions (<c>POST /v1/{activate|disable|enable|retire|schedule-destroy|cancel-destroy|destroy}/{name}</c>).</summary>
/// <param name="Version">The version to change (required).</param>
/// <param name="GraceSeconds">For retire only: the grace period (default 30 days).</param>
/// <param name="Force">For destroy only: destroy although the inventory shows values under the version or has not been counted since the version stopped encrypting; needs a reason.</param>
/// <param name="Reason">Recorded in the audit log.</param>
public sealed record VersionChangeRequest(int? Version = null, long? GraceSeconds = null, string? Reason = null, bool? Force = null);
