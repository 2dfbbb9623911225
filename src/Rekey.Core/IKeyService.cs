using Rekey.Audit;
using Rekey.Envelope;
using Rekey.Keys;

namespace Rekey;

/// <summary>
/// What an application or operator can ask of Rekey, whether in-process (<see cref="RekeyService"/>)
/// or over HTTP (the Rekey.Client package): the same calls, the same records, the same error codes.
/// </summary>
/// <remarks>
/// Over HTTP the server decides the actor from the bearer token; only <see cref="ChangeContext.Reason"/>
/// travels from the caller.
/// </remarks>
public interface IKeyService
{
    /// <summary>Creates a key with version 1 Active.</summary>
    Task<KeyInfo> CreateKeyAsync(KeyName name, KeyCreateOptions? options = null, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>Reads a key's configuration and version summary.</summary>
    Task<KeyInfo> GetKeyAsync(KeyName name, CancellationToken cancellationToken = default);

    /// <summary>Lists keys whose names start with <paramref name="prefix"/>, in name order.</summary>
    Task<IReadOnlyList<KeyInfo>> ListKeysAsync(string? prefix = null, CancellationToken cancellationToken = default);

    /// <summary>Lists a key's versions (never their material), in version order.</summary>
    Task<IReadOnlyList<KeyVersionInfo>> ListVersionsAsync(KeyName name, CancellationToken cancellationToken = default);

    /// <summary>Changes a key's configuration.</summary>
    Task<KeyInfo> UpdateKeyAsync(KeyName name, KeyConfigUpdate update, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>Deletes a key that allows it, erasing every version's material.</summary>
    Task DeleteKeyAsync(KeyName name, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>Adds a version, Active unless staged as Pending.</summary>
    Task<KeyVersionInfo> RotateAsync(KeyName name, RotateOptions? options = null, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>Makes a Pending version Active.</summary>
    Task<KeyVersionInfo> ActivateAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>Suspends a version.</summary>
    Task<KeyVersionInfo> DisableAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>Returns a Disabled or Retiring version to DecryptOnly.</summary>
    Task<KeyVersionInfo> EnableAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>Starts a DecryptOnly version's grace period.</summary>
    Task<KeyVersionInfo> RetireAsync(KeyName name, int version, TimeSpan gracePeriod, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>Schedules a Disabled version for destruction after the key's delay.</summary>
    Task<KeyVersionInfo> ScheduleDestroyAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>Cancels a scheduled destruction.</summary>
    Task<KeyVersionInfo> CancelDestroyAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>Erases a version's material once its destruction delay has passed.</summary>
    Task<KeyVersionInfo> DestroyAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>Sets the lowest version allowed to decrypt.</summary>
    Task<KeyInfo> SetMinDecryptionVersionAsync(KeyName name, int minVersion, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>Encrypts under the key's Active version; returns envelope bytes.</summary>
    ValueTask<byte[]> EncryptAsync(KeyName name, ReadOnlyMemory<byte> plaintext, EncryptionContext context, CancellationToken cancellationToken = default);

    /// <summary>Decrypts envelope bytes (or their UTF-8 text form) with the context they were encrypted with.</summary>
    ValueTask<byte[]> DecryptAsync(ReadOnlyMemory<byte> envelope, EncryptionContext context, CancellationToken cancellationToken = default);

    /// <summary>Re-wraps an envelope's data key under the Active version without decrypting the data.</summary>
    ValueTask<byte[]> RewrapAsync(ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken = default);

    /// <summary>Makes a fresh data key, returned encrypted and (unless asked not to) in plaintext.</summary>
    ValueTask<DataKey> GenerateDataKeyAsync(KeyName name, EncryptionContext context, bool includePlaintext = true, int length = 32, CancellationToken cancellationToken = default);

    /// <summary>Reads audit events after a sequence number, oldest first.</summary>
    Task<IReadOnlyList<AuditEvent>> ReadAuditAsync(long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default);

    /// <summary>Signs the audit chain's current head; null for an empty log.</summary>
    Task<AuditCheckpoint?> CheckpointAuditAsync(ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>The audit-signing public keys (SubjectPublicKeyInfo DER), by key id.</summary>
    Task<IReadOnlyDictionary<string, byte[]>> GetAuditPublicKeysAsync(CancellationToken cancellationToken = default);

    /// <summary>Replaces the audit-signing key; the old key endorses the new one in the chain.</summary>
    Task<AuditKeyRotation> RotateAuditSigningKeyAsync(ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Verifies the whole audit chain and every signed checkpoint (stored and witnessed), against
    /// pinned public keys and the expected head when given.
    /// </summary>
    Task<AuditVerification> VerifyAuditAsync(AuditVerifyOptions options, CancellationToken cancellationToken = default);
}
