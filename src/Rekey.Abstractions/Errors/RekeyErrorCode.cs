namespace Rekey.Errors;

/// <summary>
/// The stable codes of every domain refusal. The names are part of the public contract: the
/// CLI maps them to exit codes and the HTTP API to problem documents, so a name never changes
/// once shipped; new codes are only ever appended.
/// </summary>
public enum RekeyErrorCode
{
    /// <summary>No key has the given name.</summary>
    KeyNotFound = 1,

    /// <summary>A key with the given name already exists.</summary>
    KeyExists = 2,

    /// <summary>The key has no such version.</summary>
    VersionNotFound = 3,

    /// <summary>The version exists but its state does not allow the operation (for example encrypting with a non-Active version).</summary>
    KeyInactive = 4,

    /// <summary>The version is Disabled (or scheduled for destruction) and may not be used.</summary>
    KeyDisabled = 5,

    /// <summary>The version's material has been destroyed.</summary>
    KeyDestroyed = 6,

    /// <summary>The version is below the key's minimum decryption version.</summary>
    VersionTooOld = 7,

    /// <summary>The lifecycle table does not allow the requested state change.</summary>
    TransitionNotAllowed = 8,

    /// <summary>The state changed concurrently (for example the expected current version is no longer Active).</summary>
    Conflict = 9,

    /// <summary>The ciphertext could not be decrypted. Deliberately says nothing more.</summary>
    DecryptionFailed = 10,

    /// <summary>A scheduled destruction is not yet due.</summary>
    DestructionNotDue = 11,

    /// <summary>The root key cannot be used now: not loaded, not reachable (HSM busy, KMS throttling or down), or not configured here. Transient: try again, or fix the configuration.</summary>
    RootKeyUnavailable = 12,

    /// <summary>A policy forbids the operation (for example lowering a minimum version below what is allowed).</summary>
    PolicyViolation = 13,

    /// <summary>The audit log failed verification.</summary>
    AuditChainBroken = 14,

    /// <summary>No access token has the given id.</summary>
    TokenNotFound = 15,

    /// <summary>The request is malformed: bad JSON, a wrong type, invalid base64, an unknown field or a missing value.</summary>
    InvalidRequest = 16,

    /// <summary>No valid token was presented (missing, unknown, expired or revoked).</summary>
    Unauthenticated = 17,

    /// <summary>The token is valid but its roles or key patterns do not allow this call.</summary>
    Forbidden = 18,

    /// <summary>The request body is larger than the server accepts.</summary>
    PayloadTooLarge = 19,

    /// <summary>The store (and so the audit log) could not be reached or written; nothing was changed.</summary>
    StoreUnavailable = 20,

    /// <summary>No endpoint has this path and method.</summary>
    RouteNotFound = 21,

    /// <summary>An unexpected failure inside the server; the request id identifies it in the server's log.</summary>
    Internal = 22,

    /// <summary>No re-wrap job has the given id.</summary>
    JobNotFound = 23,

    /// <summary>No registered data source has the given name.</summary>
    SourceNotFound = 24,

    /// <summary>A configured limit (keys per store, versions per key) would be exceeded.</summary>
    LimitExceeded = 25,

    /// <summary>No Rekey store exists where one was looked for (run <c>rekey init</c>).</summary>
    StoreNotFound = 26,

    /// <summary>The root key refused stored material: it was wrapped by another root key or for another slot, or it was altered. Not transient.</summary>
    RootKeyRefused = 27,

    /// <summary>No lifecycle policy is set on the pattern.</summary>
    PolicyNotFound = 28,

    /// <summary>No rotation record has the id.</summary>
    RotationNotFound = 29,

    /// <summary>
    /// Imported key material was refused: the import token is unknown, expired, used already or
    /// for another key, or the material was not wrapped for it (sent unwrapped, under another
    /// public key) or is not 32 bytes. Nothing was changed.
    /// </summary>
    ImportRefused = 30,

    /// <summary>
    /// The operation is under dual control: a pending approval was created (its id is in
    /// <see cref="RekeyException.ApprovalId"/>) and the operation runs once enough approvers
    /// approve it. Nothing was changed yet.
    /// </summary>
    ApprovalPending = 31,

    /// <summary>
    /// An approval decision or use was refused: the requester approving their own request, an
    /// approver deciding twice, an approval that is not pending (or not approved), expired, for
    /// another operation or for a key the approver's token does not cover. Nothing was changed.
    /// </summary>
    ApprovalRefused = 32,

    /// <summary>No approval has the id.</summary>
    ApprovalNotFound = 33,
}
