using Rekey.Audit;
using Rekey.Envelope;
using Rekey.Keys;
using Rekey.Root;
using Rekey.Storage;

namespace Rekey;

/// <summary>
/// The in-process entry point: create and rotate keys, move versions through their lifecycle,
/// encrypt and decrypt with a mandatory context, re-wrap ciphertexts to the Active version, and
/// read and verify the audit log. Thread-safe; one instance per store is enough.
/// </summary>
/// <remarks>
/// A facade over three parts that can be handed out on their own: <see cref="Keys"/> (lifecycle
/// and administration), <see cref="Crypto"/> (the data plane) and <see cref="Audit"/> (the log),
/// so a component that only encrypts need not be given the power to destroy. Key material never
/// leaves these types: callers name keys, and receive envelopes and plaintexts. Usage counts are
/// kept in memory and flushed on <see cref="FlushUsageAsync"/> and <see cref="DisposeAsync"/>.
/// </remarks>
public sealed class RekeyService : IKeyService, IAsyncDisposable
{
    private readonly ServiceState _state;
    private int _disposed;

    /// <summary>Creates a service over a store and the one root key provider its material is wrapped under.</summary>
    public RekeyService(IKeyStore store, IRootKeyProvider root, RekeyServiceOptions? options = null, TimeProvider? timeProvider = null)
        : this(store, new RootKeyRing(root ?? throw new ArgumentNullException(nameof(root))), options, timeProvider)
    {
    }

    /// <summary>
    /// Creates a service over a store whose material may be wrapped under several roots (during a
    /// move from one to another): new material goes under the ring's primary, and stored material
    /// is unwrapped by the root whose id it records.
    /// </summary>
    public RekeyService(IKeyStore store, RootKeyRing roots, RekeyServiceOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(roots);
        options ??= new RekeyServiceOptions();
        options.Validate();
        _state = new ServiceState(store, roots, options, timeProvider ?? TimeProvider.System);
        Keys = new KeyManager(_state);
        Crypto = new CryptoService(_state, Keys);
        Audit = new AuditService(_state);
    }

    /// <summary>Key lifecycle and administration.</summary>
    public KeyManager Keys { get; }

    /// <summary>Encrypt, decrypt, re-wrap and data keys.</summary>
    public CryptoService Crypto { get; }

    /// <summary>The audit log.</summary>
    public AuditService Audit { get; }

    /// <summary>Dual control, when configured (<see cref="RekeyServiceOptions.Approvals"/>): what holds operations for approval.</summary>
    public IApprovalGate? Approvals => _state.Options.Approvals;

    /// <inheritdoc />
    public Task<KeyInfo> CreateKeyAsync(KeyName name, KeyCreateOptions? options = null, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        Keys.CreateKeyAsync(name, options, change, cancellationToken);

    /// <inheritdoc />
    public Task<KeyInfo> GetKeyAsync(KeyName name, CancellationToken cancellationToken = default) => Keys.GetKeyAsync(name, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<KeyInfo>> ListKeysAsync(string? prefix = null, CancellationToken cancellationToken = default) => Keys.ListKeysAsync(prefix, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<KeyVersionInfo>> ListVersionsAsync(KeyName name, CancellationToken cancellationToken = default) => Keys.ListVersionsAsync(name, cancellationToken);

    /// <inheritdoc />
    public Task<KeyInfo> UpdateKeyAsync(KeyName name, KeyConfigUpdate update, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        Keys.UpdateKeyAsync(name, update, change, cancellationToken);

    /// <inheritdoc />
    public Task DeleteKeyAsync(KeyName name, ChangeContext? change = null, CancellationToken cancellationToken = default) => Keys.DeleteKeyAsync(name, change, cancellationToken);

    /// <inheritdoc />
    public Task<KeyVersionInfo> RotateAsync(KeyName name, RotateOptions? options = null, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        Keys.RotateAsync(name, options, change, cancellationToken);

    /// <inheritdoc />
    public Task<ImportParameters> CreateImportTokenAsync(KeyName name, TimeSpan? validFor = null, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        Keys.CreateImportTokenAsync(name, validFor, change, cancellationToken);

    /// <inheritdoc />
    public Task<KeyVersionInfo> ImportAsync(KeyName name, string token, ReadOnlyMemory<byte> wrappedMaterial, bool activate = true, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        Keys.ImportAsync(name, token, wrappedMaterial, activate, change, cancellationToken);

    /// <inheritdoc />
    public Task<KeyVersionInfo> ActivateAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        Keys.ActivateAsync(name, version, change, cancellationToken);

    /// <inheritdoc />
    public Task<KeyVersionInfo> DisableAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        Keys.DisableAsync(name, version, change, cancellationToken);

    /// <inheritdoc />
    public Task<KeyVersionInfo> EnableAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        Keys.EnableAsync(name, version, change, cancellationToken);

    /// <inheritdoc />
    public Task<KeyVersionInfo> RetireAsync(KeyName name, int version, TimeSpan gracePeriod, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        Keys.RetireAsync(name, version, gracePeriod, change, cancellationToken);

    /// <inheritdoc cref="KeyManager.ExpireRetiredVersionsAsync"/>
    public Task<int> ExpireRetiredVersionsAsync(CancellationToken cancellationToken = default) => Keys.ExpireRetiredVersionsAsync(cancellationToken);

    /// <inheritdoc />
    public Task<KeyVersionInfo> ScheduleDestroyAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        Keys.ScheduleDestroyAsync(name, version, change, cancellationToken);

    /// <inheritdoc />
    public Task<KeyVersionInfo> CancelDestroyAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        Keys.CancelDestroyAsync(name, version, change, cancellationToken);

    /// <inheritdoc />
    public Task<KeyVersionInfo> DestroyAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        Keys.DestroyAsync(name, version, change, cancellationToken);

    /// <inheritdoc />
    public Task<KeyVersionInfo> DestroyAsync(KeyName name, int version, DestroyOptions options, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        Keys.DestroyAsync(name, version, options, change, cancellationToken);

    /// <inheritdoc />
    public Task<KeyInfo> SetMinDecryptionVersionAsync(KeyName name, int minVersion, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        Keys.SetMinDecryptionVersionAsync(name, minVersion, change, cancellationToken);

    /// <inheritdoc />
    public ValueTask<byte[]> EncryptAsync(KeyName name, ReadOnlyMemory<byte> plaintext, EncryptionContext context, CancellationToken cancellationToken = default) =>
        Crypto.EncryptAsync(name, plaintext, context, cancellationToken);

    /// <inheritdoc />
    public ValueTask<byte[]> DecryptAsync(KeyName key, ReadOnlyMemory<byte> envelope, EncryptionContext context, CancellationToken cancellationToken = default) =>
        Crypto.DecryptAsync(key, envelope, context, cancellationToken);

    /// <inheritdoc />
    public ValueTask<byte[]> RewrapAsync(KeyName key, ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken = default) =>
        Crypto.RewrapAsync(key, envelope, cancellationToken);

    /// <inheritdoc />
    public ValueTask<DataKey> GenerateDataKeyAsync(KeyName name, EncryptionContext context, bool includePlaintext = true, int length = 32, CancellationToken cancellationToken = default) =>
        Crypto.GenerateDataKeyAsync(name, context, includePlaintext, length, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<AuditEvent>> ReadAuditAsync(long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default) =>
        Audit.ReadAuditAsync(afterSequence, limit, cancellationToken);

    /// <inheritdoc />
    public Task<AuditCheckpoint?> CheckpointAuditAsync(ChangeContext? change = null, CancellationToken cancellationToken = default) => Audit.CheckpointAuditAsync(change, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyDictionary<string, byte[]>> GetAuditPublicKeysAsync(CancellationToken cancellationToken = default) => Audit.GetAuditPublicKeysAsync(cancellationToken);

    /// <inheritdoc />
    public Task<AuditKeyRotation> RotateAuditSigningKeyAsync(ChangeContext? change = null, CancellationToken cancellationToken = default) => Audit.RotateAuditSigningKeyAsync(change, cancellationToken);

    /// <inheritdoc cref="AuditService.VerifyAuditAsync(AuditHead?, CancellationToken)"/>
    public Task<AuditVerification> VerifyAuditAsync(AuditHead? expectedHead = null, CancellationToken cancellationToken = default) => Audit.VerifyAuditAsync(expectedHead, cancellationToken);

    /// <inheritdoc />
    public Task<AuditVerification> VerifyAuditAsync(AuditVerifyOptions options, CancellationToken cancellationToken = default) => Audit.VerifyAuditAsync(options, cancellationToken);

    /// <summary>Writes usage counts kept in memory to the store.</summary>
    public Task FlushUsageAsync(CancellationToken cancellationToken = default) => _state.Cache.FlushAsync(cancellationToken);

    /// <summary>Flushes usage counts and zeroes every unwrapped KEK held in memory. Only the first call does anything.</summary>
    public ValueTask DisposeAsync() =>
        Interlocked.Exchange(ref _disposed, 1) == 0 ? _state.Cache.DisposeAsync() : ValueTask.CompletedTask;
}
