namespace Rekey.Api;

/// <summary>An audit event as stored, with its chain hashes.</summary>
/// <param name="Sequence">Position in the log, from 1.</param>
/// <param name="Time">When it happened.</param>
/// <param name="Actor">Who (a token id or principal; never a secret).</param>
/// <param name="Action">What, for example <c>key.rotate</c>.</param>
/// <param name="Key">The key concerned.</param>
/// <param name="FromVersion">The version acted on or demoted.</param>
/// <param name="ToVersion">The version created or promoted.</param>
/// <param name="Outcome"><c>success</c> or <c>refused:&lt;code&gt;</c>.</param>
/// <param name="Details">What the server says about it (new state, job id and the like).</param>
/// <param name="PreviousHash">The previous event's hash.</param>
/// <param name="Hash">This event's hash.</param>
/// <param name="Reason">The reason the caller gave.</param>
/// <param name="RequestId">The request that asked for it.</param>
/// <param name="Client">The client's address.</param>
/// <param name="PresentedTokenId">For a refused authentication, the token id that was presented (the actor is then <c>anonymous</c>).</param>
public sealed record AuditEventResource(
    long Sequence,
    DateTimeOffset Time,
    string Actor,
    string Action,
    string? Key,
    int? FromVersion,
    int? ToVersion,
    string Outcome,
    string? Details,
    string PreviousHash,
    string Hash,
    string? Reason = null,
    string? RequestId = null,
    string? Client = null,
    string? PresentedTokenId = null);

/// <summary>A page of audit events.</summary>
/// <param name="Events">Matching events, oldest first.</param>
/// <param name="NextAfter">Pass as <c>after</c> to continue; null when the log's end was reached.</param>
public sealed record AuditEventsResponse(IReadOnlyList<AuditEventResource> Events, long? NextAfter);

/// <summary>The verdict on the whole audit chain.</summary>
/// <param name="Valid">True when every link, checkpoint and the expected head (if given) check out.</param>
/// <param name="EventCount">Events checked.</param>
/// <param name="Head">The last event as <c>sequence:hash</c>.</param>
/// <param name="FailedAtSequence">Where it broke.</param>
/// <param name="Problem">What broke.</param>
/// <param name="CheckpointCount">Signed checkpoints checked.</param>
/// <param name="KeysPinned">True when checkpoints were checked against public keys given by the caller, not read from the store.</param>
/// <param name="WitnessedCount">Checkpoints read from the witness outside the store.</param>
/// <param name="SigningKeysProven">Stored signing keys proven, with the root key, to be the store's own.</param>
public sealed record AuditVerifyResponse(bool Valid, long EventCount, string? Head, long? FailedAtSequence, string? Problem, int CheckpointCount, bool KeysPinned = false, int WitnessedCount = 0, int SigningKeysProven = 0);

/// <summary>The result of replacing the audit-signing key.</summary>
/// <param name="KeyId">The new key's id.</param>
/// <param name="PublicKey">The new key's SubjectPublicKeyInfo DER, base64.</param>
/// <param name="Checkpoint">The checkpoint the new key signed over the hand-over event.</param>
public sealed record SigningKeyRotatedResponse(string KeyId, string PublicKey, CheckpointResource Checkpoint);

/// <summary>A signed checkpoint of the audit chain.</summary>
/// <param name="Sequence">The chain's last sequence when signed.</param>
/// <param name="Hash">That event's hash.</param>
/// <param name="Time">When signed.</param>
/// <param name="KeyId">The signing key's id.</param>
/// <param name="Signature">ECDSA P-256 P1363 signature, base64 (64 bytes).</param>
public sealed record CheckpointResource(long Sequence, string Hash, DateTimeOffset Time, string KeyId, string Signature);

/// <summary>Every signed checkpoint, in sequence order.</summary>
/// <param name="Checkpoints">The checkpoints.</param>
public sealed record CheckpointsResponse(IReadOnlyList<CheckpointResource> Checkpoints);

/// <summary>An audit-signing public key.</summary>
/// <param name="KeyId">Its id, as named by checkpoints.</param>
/// <param name="PublicKey">SubjectPublicKeyInfo DER, base64.</param>
/// <param name="Pem">The same as PEM.</param>
public sealed record PublicKeyResource(string KeyId, string PublicKey, string Pem);

/// <summary>Every audit-signing public key.</summary>
/// <param name="Keys">The keys.</param>
public sealed record PublicKeysResponse(IReadOnlyList<PublicKeyResource> Keys);
