using System.Globalization;
using System.Security.Cryptography;
using Rekey.Audit;
using Rekey.Envelope;
using Rekey.Errors;
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
/// Key material never leaves this type: callers name keys, and receive envelopes and plaintexts.
/// Every change is written with its audit event in one store transaction. Usage counts are kept
/// in memory and flushed on <see cref="FlushUsageAsync"/> and <see cref="DisposeAsync"/>.
/// </remarks>
public sealed class RekeyService : IKeyService, IAsyncDisposable
{
    private const int MaxRotationAttempts = 64;

    private readonly IKeyStore _store;
    private readonly IRootKeyProvider _root;
    private readonly TimeProvider _time;
    private readonly RekeyServiceOptions _options;
    private readonly KeyVersionCache _cache;
    private int _disposed;

    /// <summary>Creates a service over a store and a root key provider.</summary>
    public RekeyService(IKeyStore store, IRootKeyProvider root, RekeyServiceOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(root);
        _options = options ?? new RekeyServiceOptions();
        _options.Validate();
        _store = store;
        _root = root;
        _time = timeProvider ?? TimeProvider.System;
        _cache = new KeyVersionCache(store, root, _time, _options.CacheTtl, _options.NotifiedCacheTtl);
    }

    /// <summary>Creates a key with version 1 Active.</summary>
    public async Task<KeyInfo> CreateKeyAsync(KeyName name, KeyCreateOptions? options = null, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        var delay = options?.DestructionDelay ?? _options.DefaultDestructionDelay;
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero, nameof(options));
        if (await _store.CountKeysAsync(cancellationToken).ConfigureAwait(false) >= _options.MaxKeys)
        {
            await RefuseAsync(change, "key.create", name, null, null, RekeyErrorCode.LimitExceeded, $"The store holds {_options.MaxKeys} keys, its configured maximum (max_keys); delete keys or raise the limit.", cancellationToken).ConfigureAwait(false);
        }

        var now = Now();
        var key = new StoredKey(name, now, 1, delay, options?.DeletionAllowed ?? false);
        var first = await NewVersionAsync(name, 1, KeyVersionState.Active, now, cancellationToken).ConfigureAwait(false);
        var audit = Audit(change, "key.create", name, null, 1, "success", null);
        await _store.CreateKeyAsync(key, first, audit, cancellationToken).ConfigureAwait(false);
        return Summarize(key, [first]);
    }

    /// <summary>Reads a key's configuration and version summary.</summary>
    public async Task<KeyInfo> GetKeyAsync(KeyName name, CancellationToken cancellationToken = default)
    {
        var (key, versions) = await LoadAsync(name, cancellationToken).ConfigureAwait(false);
        return Summarize(key, versions);
    }

    /// <summary>Lists keys whose names start with <paramref name="prefix"/>.</summary>
    public async Task<IReadOnlyList<KeyInfo>> ListKeysAsync(string? prefix = null, CancellationToken cancellationToken = default)
    {
        var keys = await _store.ListKeysAsync(prefix, cancellationToken).ConfigureAwait(false);
        var result = new List<KeyInfo>(keys.Count);
        foreach (var key in keys)
        {
            var versions = StoreIntegrity.CheckVersions(key.Name, await _store.GetVersionsAsync(key.Name, cancellationToken).ConfigureAwait(false));
            result.Add(Summarize(key, versions));
        }

        return result;
    }

    /// <summary>Lists a key's versions with state, times and usage counts (never material).</summary>
    public async Task<IReadOnlyList<KeyVersionInfo>> ListVersionsAsync(KeyName name, CancellationToken cancellationToken = default)
    {
        var (_, versions) = await LoadAsync(name, cancellationToken).ConfigureAwait(false);
        return versions.Select(v => v.Info).ToList();
    }

    /// <summary>
    /// Adds a version. By default it becomes Active and the old Active becomes DecryptOnly, in one
    /// transaction. With an expected Active version, a concurrent rotation makes this one fail
    /// with <c>Conflict</c>; without, concurrent rotations all succeed one after another.
    /// </summary>
    public async Task<KeyVersionInfo> RotateAsync(KeyName name, RotateOptions? options = null, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        options ??= new RotateOptions();
        for (var attempt = 1; ; attempt++)
        {
            var (_, versions) = await LoadAsync(name, cancellationToken).ConfigureAwait(false);
            var active = versions.Single(v => v.Info.State == KeyVersionState.Active);
            if (versions.Count >= _options.MaxVersionsPerKey)
            {
                await RefuseAsync(change, "key.rotate", name, active.Info.Version, null, RekeyErrorCode.LimitExceeded, $"Key '{name}' has {versions.Count} versions, the configured maximum (max_versions_per_key); raise the limit if this key really rotates that often.", cancellationToken).ConfigureAwait(false);
            }

            if (options.ExpectedActiveVersion is { } expected && expected != active.Info.Version)
            {
                throw new RekeyException(RekeyErrorCode.Conflict, $"Key '{name}' has Active version {active.Info.Version}, not {expected}.");
            }

            var now = Now();
            var number = versions[^1].Info.Version + 1;
            var state = options.Activate ? KeyVersionState.Active : KeyVersionState.Pending;
            var created = await NewVersionAsync(name, number, state, now, cancellationToken).ConfigureAwait(false);
            var updates = options.Activate ? new[] { Demote(active, now) } : [];
            var audit = Audit(change, "key.rotate", name, active.Info.Version, number, "success", options.Activate ? "activated" : "pending");
            try
            {
                await _store.ApplyAsync(new KeyChange(name, updates, created, null, audit), cancellationToken).ConfigureAwait(false);
                _cache.Invalidate(name);
                return created.Info;
            }
            catch (RekeyException e) when (e.Code == RekeyErrorCode.Conflict && options.ExpectedActiveVersion is null && attempt < MaxRotationAttempts)
            {
                // Another rotation won the race for this version number; read again and follow it.
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 5 * attempt)), _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Makes a Pending version Active; the old Active becomes DecryptOnly.</summary>
    public Task<KeyVersionInfo> ActivateAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        TransitionAsync(name, version, KeyVersionState.Active, "version.activate", change, cancellationToken);

    /// <summary>Suspends a version: it neither encrypts nor decrypts until enabled again.</summary>
    public Task<KeyVersionInfo> DisableAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        TransitionAsync(name, version, KeyVersionState.Disabled, "version.disable", change, cancellationToken);

    /// <summary>Returns a Disabled or Retiring version to DecryptOnly.</summary>
    public Task<KeyVersionInfo> EnableAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        TransitionAsync(name, version, KeyVersionState.DecryptOnly, "version.enable", change, cancellationToken);

    /// <summary>Starts a DecryptOnly version's grace period; decryptions are still allowed, and counted.</summary>
    public Task<KeyVersionInfo> RetireAsync(KeyName name, int version, TimeSpan gracePeriod, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(gracePeriod, TimeSpan.Zero);
        return TransitionAsync(name, version, KeyVersionState.Retiring, "version.retire", change, cancellationToken, gracePeriod);
    }

    /// <summary>
    /// Moves every Retiring version whose retire deadline has passed to Disabled, audited as
    /// <c>version.retire_expire</c>; returns how many moved. The server runs this periodically;
    /// decrypting with such a version is refused from the deadline on in any case.
    /// </summary>
    public async Task<int> ExpireRetiredVersionsAsync(CancellationToken cancellationToken = default)
    {
        // One query for the versions that are due, not a read of every key.
        var moved = 0;
        foreach (var due in await _store.GetRetiringDueAsync(_time.GetUtcNow(), cancellationToken).ConfigureAwait(false))
        {
            if (await ExpireRetiredAsync(due.Info.Key, due.Info.Version, cancellationToken).ConfigureAwait(false))
            {
                moved++;
            }
        }

        return moved;
    }

    /// <summary>Schedules a Disabled version for destruction after the key's destruction delay.</summary>
    public Task<KeyVersionInfo> ScheduleDestroyAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        TransitionAsync(name, version, KeyVersionState.DestroyScheduled, "version.schedule_destroy", change, cancellationToken);

    /// <summary>Cancels a scheduled destruction; the version returns to Disabled.</summary>
    public Task<KeyVersionInfo> CancelDestroyAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        TransitionAsync(name, version, KeyVersionState.Disabled, "version.cancel_destroy", change, cancellationToken);

    /// <summary>Erases a version's material for good, once its destruction delay has passed.</summary>
    public Task<KeyVersionInfo> DestroyAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        TransitionAsync(name, version, KeyVersionState.Destroyed, "version.destroy", change, cancellationToken);

    /// <summary>Sets the lowest version allowed to decrypt; it may not exceed the Active version.</summary>
    public async Task<KeyInfo> SetMinDecryptionVersionAsync(KeyName name, int minVersion, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minVersion, 1);
        var (key, versions) = await LoadAsync(name, cancellationToken).ConfigureAwait(false);
        var active = versions.Single(v => v.Info.State == KeyVersionState.Active).Info.Version;
        if (minVersion > active)
        {
            await RefuseAsync(change, "key.set_min_decryption_version", name, key.MinDecryptionVersion, minVersion, RekeyErrorCode.PolicyViolation,
                $"The minimum decryption version cannot exceed the Active version {active}.", cancellationToken).ConfigureAwait(false);
        }

        var updated = key with { MinDecryptionVersion = minVersion };
        var audit = Audit(change, "key.set_min_decryption_version", name, key.MinDecryptionVersion, minVersion, "success", null);
        await _store.ApplyAsync(new KeyChange(name, [], null, updated, audit), cancellationToken).ConfigureAwait(false);
        _cache.Invalidate(name);
        return Summarize(updated, versions);
    }

    /// <summary>Changes a key's configuration (destruction delay, whether it may be deleted).</summary>
    public async Task<KeyInfo> UpdateKeyAsync(KeyName name, KeyConfigUpdate update, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(update);
        if (update.DestructionDelay is { } d)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(d, TimeSpan.Zero, nameof(update));
        }

        var (key, versions) = await LoadAsync(name, cancellationToken).ConfigureAwait(false);
        var updated = key with
        {
            DestructionDelay = update.DestructionDelay ?? key.DestructionDelay,
            DeletionAllowed = update.DeletionAllowed ?? key.DeletionAllowed,
        };
        var details = string.Create(CultureInfo.InvariantCulture, $"destruction_delay: {updated.DestructionDelay}; deletion_allowed: {updated.DeletionAllowed}");
        var audit = Audit(change, "key.update", name, null, null, "success", details);
        await _store.ApplyAsync(new KeyChange(name, [], null, updated, audit), cancellationToken).ConfigureAwait(false);
        _cache.Invalidate(name);
        return Summarize(updated, versions);
    }

    /// <summary>
    /// Deletes a key and every version's material: whatever it protects becomes unreadable. Only
    /// for a key created or updated with deletion allowed (else <c>PolicyViolation</c>, audited).
    /// </summary>
    public async Task DeleteKeyAsync(KeyName name, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        var (key, versions) = await LoadAsync(name, cancellationToken).ConfigureAwait(false);
        if (!key.DeletionAllowed)
        {
            await RefuseAsync(change, "key.delete", name, null, null, RekeyErrorCode.PolicyViolation,
                $"Key '{name}' does not allow deletion; update it with deletion allowed first.", cancellationToken).ConfigureAwait(false);
        }

        var audit = Audit(change, "key.delete", name, null, null, "success", string.Create(CultureInfo.InvariantCulture, $"{versions.Count} versions erased"));
        await _store.DeleteKeyAsync(name, audit, cancellationToken).ConfigureAwait(false);
        _cache.Invalidate(name);
    }

    /// <summary>
    /// Makes a fresh random data key of <paramref name="length"/> bytes and returns it encrypted
    /// under the key's Active version with <paramref name="context"/>, and in plaintext unless
    /// <paramref name="includePlaintext"/> is false. The caller zeroes the plaintext after use.
    /// </summary>
    public async ValueTask<DataKey> GenerateDataKeyAsync(KeyName name, EncryptionContext context, bool includePlaintext = true, int length = 32, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 16);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, 64);
        var plaintext = RandomNumberGenerator.GetBytes(length);
        byte[] envelope;
        try
        {
            envelope = await EncryptAsync(name, plaintext, context, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            CryptographicOperations.ZeroMemory(plaintext);
            throw;
        }

        if (includePlaintext)
        {
            return new DataKey(plaintext, envelope);
        }

        CryptographicOperations.ZeroMemory(plaintext);
        return new DataKey(null, envelope);
    }

    /// <summary>Encrypts under the key's Active version with a fresh data key. Returns envelope bytes (see <see cref="EnvelopeText"/> for text).</summary>
    public async ValueTask<byte[]> EncryptAsync(KeyName name, ReadOnlyMemory<byte> plaintext, EncryptionContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var cached = await _cache.GetAsync(name, cancellationToken).ConfigureAwait(false) ?? throw KeyNotFound(name);
        var active = cached.Active ?? throw new RekeyException(RekeyErrorCode.KeyInactive, $"Key '{name}' has no Active version.");
        var kek = await KekAsync(active, cancellationToken).ConfigureAwait(false);
        try
        {
            var envelope = EnvelopeCipher.Encrypt(kek, cached.NameBytes, active.Stored.Info.Version, plaintext.Span, context);
            active.CountEncrypt();
            return envelope;
        }
        catch (ObjectDisposedException)
        {
            throw Destroyed(name, active.Stored.Info.Version);
        }
    }

    /// <summary>
    /// Decrypts envelope bytes or their text form (UTF-8) with the context they were encrypted
    /// with. The key and version come from the envelope. Key-state refusals name the state;
    /// every other failure is the one <c>DecryptionFailed</c>.
    /// </summary>
    public async ValueTask<byte[]> DecryptAsync(ReadOnlyMemory<byte> envelope, EncryptionContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var (name, version) = ReadOrigin(envelope.Span);
        var (cached, entry) = await UsableForDecryptAsync(name, version, cancellationToken).ConfigureAwait(false);
        var kek = await KekAsync(entry, cancellationToken).ConfigureAwait(false);
        try
        {
            var plaintext = EnvelopeCipher.Decrypt(kek, Layout(envelope.Span), context);
            entry.CountDecrypt();
            return plaintext;
        }
        catch (ObjectDisposedException)
        {
            throw Destroyed(cached.Key.Name, version);
        }
    }

    /// <summary>
    /// Re-wraps an envelope's data key under the key's Active version without decrypting the data:
    /// only the version and wrapped key change. An envelope already under the Active version is
    /// returned unchanged.
    /// </summary>
    public async ValueTask<byte[]> RewrapAsync(ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken = default)
    {
        var (name, version) = ReadOrigin(envelope.Span);
        var (cached, source) = await UsableForDecryptAsync(name, version, cancellationToken).ConfigureAwait(false);
        var target = cached.Active ?? throw new RekeyException(RekeyErrorCode.KeyInactive, $"Key '{name}' has no Active version.");
        if (target.Stored.Info.Version == version)
        {
            // Already current, if the version field is true: a field edited to claim the Active
            // version would otherwise come back as a success that never decrypts.
            try
            {
                EnvelopeCipher.EnsureWrappedKeyUnwraps(await KekAsync(target, cancellationToken).ConfigureAwait(false), Layout(envelope.Span));
            }
            catch (ObjectDisposedException)
            {
                throw Destroyed(name, version);
            }

            return envelope.ToArray();
        }

        var from = await KekAsync(source, cancellationToken).ConfigureAwait(false);
        var to = await KekAsync(target, cancellationToken).ConfigureAwait(false);
        try
        {
            var result = EnvelopeCipher.Rewrap(from, to, Layout(envelope.Span), target.Stored.Info.Version);
            source.CountDecrypt();
            target.CountEncrypt();
            return result;
        }
        catch (ObjectDisposedException)
        {
            throw Destroyed(name, version);
        }
    }

    /// <summary>Reads audit events after a sequence number, oldest first.</summary>
    public Task<IReadOnlyList<AuditEvent>> ReadAuditAsync(long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(afterSequence);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return _store.ReadAuditAsync(afterSequence, limit, cancellationToken);
    }

    /// <summary>
    /// Signs the audit chain's current head with the audit-signing key (created, wrapped by the
    /// root and recorded in the log on first use), writes the checkpoint to the witness when one is
    /// configured, then stores it. Returns null for an empty log. Needs a store that keeps checkpoints.
    /// </summary>
    public async Task<AuditCheckpoint?> CheckpointAuditAsync(ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        var store = CheckpointStore();
        using var signer = await CurrentSignerAsync(store, change, cancellationToken).ConfigureAwait(false);
        return await SignHeadAsync(store, signer, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Replaces the audit-signing key: the current key signs an endorsement of a new one, recorded
    /// as an <c>audit.signing_key.rotate</c> event in the chain, and the new key then signs a
    /// checkpoint covering that event. A verifier that pins the old public key follows the
    /// endorsement to trust the new key; nobody without the old private key can make one.
    /// </summary>
    /// <returns>The new key's id and the checkpoint it signed.</returns>
    public async Task<AuditKeyRotation> RotateAuditSigningKeyAsync(ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        var store = CheckpointStore();
        using var previous = await CurrentSignerAsync(store, change, cancellationToken).ConfigureAwait(false);

        // The old key signs the head first, so everything before the hand-over is vouched for by it.
        await SignHeadAsync(store, previous, cancellationToken).ConfigureAwait(false);
        var (next, wrapped) = await AuditSigner.CreateAsync(_root, cancellationToken).ConfigureAwait(false);
        using (next)
        {
            var endorsement = previous.Endorse(next);
            var record = new AuditRecord(Now(), change?.Actor ?? _options.DefaultActor, AuditKeyEndorsement.Action, null, null, null, "success", endorsement.ToDetails());
            await store.AddSigningKeyAsync(new StoredSigningKey(next.KeyId, next.PublicKey, wrapped, _root.KeyId, Now()), record, cancellationToken).ConfigureAwait(false);
            var checkpoint = await SignHeadAsync(store, next, cancellationToken).ConfigureAwait(false);
            return new AuditKeyRotation(next.KeyId, checkpoint!);
        }
    }

    /// <summary>The audit-signing public keys (SubjectPublicKeyInfo DER, by key id), for verifying checkpoints elsewhere.</summary>
    public async Task<IReadOnlyDictionary<string, byte[]>> GetAuditPublicKeysAsync(CancellationToken cancellationToken = default)
    {
        if (_store is not IAuditCheckpointStore store)
        {
            return new Dictionary<string, byte[]>();
        }

        var keys = await store.GetSigningKeysAsync(cancellationToken).ConfigureAwait(false);
        return keys.ToDictionary(k => k.KeyId, k => k.PublicKey, StringComparer.Ordinal);
    }

    /// <summary>
    /// Verifies the whole audit chain: against <paramref name="expectedHead"/> when given, and
    /// against every signed checkpoint the store holds (signatures checked with the stored public
    /// keys), so a tail removed or a log rewritten behind a checkpoint is reported.
    /// </summary>
    public Task<AuditVerification> VerifyAuditAsync(AuditHead? expectedHead = null, CancellationToken cancellationToken = default) =>
        VerifyAuditAsync(new AuditVerifyOptions(expectedHead), cancellationToken);

    /// <summary>
    /// Verifies the whole audit chain against the store's checkpoints, the witness's checkpoints
    /// and pinned public keys when given, and proves with the root that every stored signing key
    /// is one this store made (its wrapped private key unwraps under the root and matches its
    /// public key), so a key inserted by someone without the root is reported.
    /// </summary>
    public async Task<AuditVerification> VerifyAuditAsync(AuditVerifyOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        IReadOnlyList<AuditCheckpoint> checkpoints = [];
        IReadOnlyList<StoredSigningKey> signingKeys = [];
        if (_store is IAuditCheckpointStore checkpointStore)
        {
            checkpoints = await checkpointStore.GetCheckpointsAsync(cancellationToken).ConfigureAwait(false);
            signingKeys = await checkpointStore.GetSigningKeysAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var stored in signingKeys)
        {
            if (!await IsOwnSigningKeyAsync(stored, cancellationToken).ConfigureAwait(false))
            {
                return new AuditVerification(false, 0, null, null, $"The audit-signing key {stored.KeyId} in the store was not made under this store's root key: it was inserted by someone without the root.")
                {
                    KeysPinned = options.PinnedPublicKeys is { Count: > 0 },
                };
            }
        }

        var verifier = new AuditVerifier(options, checkpoints, signingKeys.ToDictionary(k => k.KeyId, k => k.PublicKey, StringComparer.Ordinal));
        var replay = new AuditStateReplay();
        long after = 0;
        while (true)
        {
            var page = await _store.ReadAuditAsync(after, 1000, cancellationToken).ConfigureAwait(false);
            foreach (var e in page)
            {
                if (!verifier.Add(e))
                {
                    return verifier.Complete();
                }

                replay.Add(e);
            }

            if (page.Count == 0)
            {
                break;
            }

            after = page[^1].Sequence;
        }

        var done = verifier.Complete();
        if (!done.IsValid)
        {
            return done;
        }

        // The chain holds; now the versions' states must be the ones it records.
        foreach (var key in await _store.ListKeysAsync(null, cancellationToken).ConfigureAwait(false))
        {
            IReadOnlyList<StoredKeyVersion> versions;
            try
            {
                versions = StoreIntegrity.CheckVersions(key.Name, await _store.GetVersionsAsync(key.Name, cancellationToken).ConfigureAwait(false));
            }
            catch (RekeyStoreException e) when (e.IsIntegrityFailure)
            {
                return done with { IsValid = false, Problem = e.Message };
            }

            if (replay.Compare(key.Name, versions.Select(v => v.Info)) is { } difference)
            {
                return done with { IsValid = false, Problem = "The store disagrees with the audit log: " + difference + "." };
            }
        }

        return done with { SigningKeysProven = signingKeys.Count };
    }

    /// <summary>Writes usage counts kept in memory to the store.</summary>
    public Task FlushUsageAsync(CancellationToken cancellationToken = default) => _cache.FlushAsync(cancellationToken);

    /// <summary>Flushes usage counts and zeroes every unwrapped KEK held in memory. Only the first call does anything.</summary>
    public ValueTask DisposeAsync() =>
        Interlocked.Exchange(ref _disposed, 1) == 0 ? _cache.DisposeAsync() : ValueTask.CompletedTask;

    private async Task<AuditSigner> CurrentSignerAsync(IAuditCheckpointStore store, ChangeContext? change, CancellationToken cancellationToken)
    {
        var keys = await store.GetSigningKeysAsync(cancellationToken).ConfigureAwait(false);
        if (keys.Count > 0)
        {
            return await AuditSigner.OpenAsync(_root, keys[^1].KeyId, keys[^1].WrappedPrivateKey, cancellationToken).ConfigureAwait(false);
        }

        var (created, wrapped) = await AuditSigner.CreateAsync(_root, cancellationToken).ConfigureAwait(false);
        var record = new AuditRecord(Now(), change?.Actor ?? _options.DefaultActor, "audit.signing_key.create", null, null, null, "success", "audit-signing key " + created.KeyId);
        await store.AddSigningKeyAsync(new StoredSigningKey(created.KeyId, created.PublicKey, wrapped, _root.KeyId, Now()), record, cancellationToken).ConfigureAwait(false);
        return created;
    }

    private async Task<AuditCheckpoint?> SignHeadAsync(IAuditCheckpointStore store, AuditSigner signer, CancellationToken cancellationToken)
    {
        if (await store.GetAuditHeadAsync(cancellationToken).ConfigureAwait(false) is not { } head)
        {
            return null;
        }

        var checkpoint = signer.Sign(head, Now());

        // The witness first: a checkpoint in the store but not in the witness would be one the
        // operator believes is protected when it is not.
        if (_options.AuditWitness is { } witness)
        {
            await witness.WriteAsync(checkpoint, cancellationToken).ConfigureAwait(false);
        }

        await store.AddCheckpointAsync(checkpoint, cancellationToken).ConfigureAwait(false);
        return checkpoint;
    }

    private async Task<bool> IsOwnSigningKeyAsync(StoredSigningKey stored, CancellationToken cancellationToken)
    {
        try
        {
            using var signer = await AuditSigner.OpenAsync(_root, stored.KeyId, stored.WrappedPrivateKey, cancellationToken).ConfigureAwait(false);
            return CryptographicOperations.FixedTimeEquals(signer.PublicKey, stored.PublicKey);
        }
        catch (RekeyException e) when (e.Code == RekeyErrorCode.RootKeyUnavailable)
        {
            return false;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private IAuditCheckpointStore CheckpointStore() =>
        _store as IAuditCheckpointStore ?? throw new NotSupportedException("This store does not keep signed audit checkpoints.");

    private static (KeyName Name, int Version) ReadOrigin(ReadOnlySpan<byte> envelope)
    {
        var layout = EnvelopeReader.Parse(envelope, out var name);
        return (name, layout.Version);
    }

    // The envelope was fully validated by ReadOrigin before the await; only the spans are needed again.
    private static EnvelopeLayout Layout(ReadOnlySpan<byte> envelope) =>
        EnvelopeLayout.TryParse(envelope, out var layout) ? layout : throw RekeyException.DecryptionFailed();

    private async ValueTask<(CachedKey Key, CachedVersion Version)> UsableForDecryptAsync(KeyName name, int version, CancellationToken cancellationToken)
    {
        // An unknown key or version in a ciphertext is the one decryption error, not KeyNotFound:
        // otherwise decrypt would tell a caller which key names exist.
        var cached = await _cache.GetAsync(name, cancellationToken).ConfigureAwait(false) ?? throw RekeyException.DecryptionFailed();
        if (!cached.Versions.TryGetValue(version, out var entry))
        {
            // The version may be newer than our snapshot (rotated elsewhere); read once more.
            cached = await _cache.ReloadAsync(name, cancellationToken).ConfigureAwait(false) ?? throw RekeyException.DecryptionFailed();
            if (!cached.Versions.TryGetValue(version, out entry))
            {
                throw RekeyException.DecryptionFailed();
            }
        }

        KeyLifecycle.EnsureCanDecrypt(name, version, entry.Stored.Info.State, cached.Key.MinDecryptionVersion);
        if (entry.Stored.Info is { State: KeyVersionState.Retiring, RetireDeadline: { } deadline } && _time.GetUtcNow() >= deadline)
        {
            // The grace period is over: the version stops decrypting now, whether or not the
            // background sweep has moved it yet.
            await ExpireRetiredAsync(name, version, cancellationToken).ConfigureAwait(false);
            throw new RekeyException(RekeyErrorCode.KeyDisabled, $"Key '{name}' version {version} passed its retire deadline {deadline:O} and is Disabled.");
        }

        return (cached, entry);
    }

    private async ValueTask<Crypto.AesKeyWrapPadded> KekAsync(CachedVersion version, CancellationToken cancellationToken)
    {
        try
        {
            return await _cache.GetKekAsync(version, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            throw Destroyed(version.Stored.Info.Key, version.Stored.Info.Version);
        }
    }

    private async Task<KeyVersionInfo> TransitionAsync(
        KeyName name,
        int version,
        KeyVersionState to,
        string action,
        ChangeContext? change,
        CancellationToken cancellationToken,
        TimeSpan? gracePeriod = null)
    {
        var (key, versions) = await LoadAsync(name, cancellationToken).ConfigureAwait(false);
        var target = versions.FirstOrDefault(v => v.Info.Version == version)
            ?? throw new RekeyException(RekeyErrorCode.VersionNotFound, $"Key '{name}' has no version {version}.");
        var from = target.Info.State;
        var now = Now();
        var refusal = CheckTransition(name, key, target, to, now);
        if (refusal is not null)
        {
            await RefuseAsync(change, action, name, version, null, refusal.Code, refusal.Message, cancellationToken).ConfigureAwait(false);
        }

        var updates = new List<VersionUpdate>(2);
        if (to == KeyVersionState.Active)
        {
            updates.Add(Demote(versions.Single(v => v.Info.State == KeyVersionState.Active), now));
        }

        var info = target.Info with
        {
            State = to,
            ActivatedAt = to == KeyVersionState.Active ? now : target.Info.ActivatedAt,
            RetireDeadline = to == KeyVersionState.Retiring ? now + gracePeriod!.Value : null,
            DestroyAfter = to == KeyVersionState.DestroyScheduled ? now + key.DestructionDelay : null,
            DestroyedAt = to == KeyVersionState.Destroyed ? now : target.Info.DestroyedAt,
        };
        var material = to == KeyVersionState.Destroyed ? null : target.WrappedMaterial;
        updates.Add(new VersionUpdate(target with { Info = info, WrappedMaterial = material }, from));
        var audit = Audit(change, action, name, version, to == KeyVersionState.Active ? version : null, "success", $"{from} -> {to}");
        await _store.ApplyAsync(new KeyChange(name, updates, null, null, audit), cancellationToken).ConfigureAwait(false);
        _cache.Invalidate(name);
        return info;
    }

    // Retiring -> Disabled at the deadline. Several callers (or instances) may race to do it: the
    // store applies the change only if the version is still Retiring, and the losers carry on.
    private async Task<bool> ExpireRetiredAsync(KeyName name, int version, CancellationToken cancellationToken)
    {
        var (_, versions) = await LoadAsync(name, cancellationToken).ConfigureAwait(false);
        var target = versions.FirstOrDefault(v => v.Info.Version == version);
        if (target?.Info is not { State: KeyVersionState.Retiring, RetireDeadline: { } deadline })
        {
            return false;
        }

        var info = target.Info with { State = KeyVersionState.Disabled, RetireDeadline = null };
        var audit = new AuditRecord(Now(), _options.DefaultActor, "version.retire_expire", name.Value, version, null, "success", $"Retiring -> Disabled: retire deadline {deadline:O} passed");
        try
        {
            await _store.ApplyAsync(new KeyChange(name, [new VersionUpdate(target with { Info = info }, KeyVersionState.Retiring)], null, null, audit), cancellationToken).ConfigureAwait(false);
        }
        catch (RekeyException e) when (e.Code == RekeyErrorCode.Conflict)
        {
            return false;
        }
        finally
        {
            _cache.Invalidate(name);
        }

        return true;
    }

    private static RekeyException? CheckTransition(KeyName name, StoredKey key, StoredKeyVersion target, KeyVersionState to, DateTimeOffset now)
    {
        try
        {
            KeyLifecycle.EnsureAllowed(name, target.Info.Version, target.Info.State, to);
        }
        catch (RekeyException e)
        {
            return e;
        }

        if (to == KeyVersionState.Destroyed && target.Info.DestroyAfter is { } due && now < due)
        {
            return new RekeyException(
                RekeyErrorCode.DestructionNotDue,
                string.Create(CultureInfo.InvariantCulture, $"Key '{name}' version {target.Info.Version} may be destroyed from {due.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z, {DurationText.Format(key.DestructionDelay)} after it was scheduled (the key's destruction delay); try again then."));
        }

        return null;
    }

    private async Task RefuseAsync(ChangeContext? change, string action, KeyName name, int? from, int? to, RekeyErrorCode code, string message, CancellationToken cancellationToken)
    {
        // A refused change is evidence too (a destroy attempted too early, say): record it, then refuse.
        await _store.AppendAuditAsync(Audit(change, action, name, from, to, "refused:" + code, message), cancellationToken).ConfigureAwait(false);
        throw new RekeyException(code, message);
    }

    private async Task<(StoredKey Key, IReadOnlyList<StoredKeyVersion> Versions)> LoadAsync(KeyName name, CancellationToken cancellationToken)
    {
        var key = await _store.FindKeyAsync(name, cancellationToken).ConfigureAwait(false) ?? throw KeyNotFound(name);
        var versions = StoreIntegrity.CheckVersions(name, await _store.GetVersionsAsync(name, cancellationToken).ConfigureAwait(false));
        return (key, versions);
    }

    private async Task<StoredKeyVersion> NewVersionAsync(KeyName name, int version, KeyVersionState state, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var material = new byte[Crypto.AesKeyWrapPadded.KeySize];
        try
        {
            RandomNumberGenerator.Fill(material);
            var wrapped = await _root.WrapAsync(material, MaterialBinding.For(name, version), cancellationToken).ConfigureAwait(false);
            var info = new KeyVersionInfo(name, version, state, now, state == KeyVersionState.Active ? now : null, null, null, null, null, 0, 0);
            return new StoredKeyVersion(info, wrapped, _root.KeyId);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
        }
    }

    private static VersionUpdate Demote(StoredKeyVersion active, DateTimeOffset now) =>
        new(active with { Info = active.Info with { State = KeyVersionState.DecryptOnly, DeactivatedAt = now } }, KeyVersionState.Active);

    private static KeyInfo Summarize(StoredKey key, IReadOnlyList<StoredKeyVersion> versions) =>
        new(
            key.Name,
            key.CreatedAt,
            key.MinDecryptionVersion,
            key.DestructionDelay,
            versions.SingleOrDefault(v => v.Info.State == KeyVersionState.Active)?.Info.Version ?? 0,
            versions.Count == 0 ? 0 : versions[^1].Info.Version,
            key.DeletionAllowed);

    private AuditRecord Audit(ChangeContext? change, string action, KeyName key, int? from, int? to, string outcome, string? details)
    {
        return ChangeContext.Stamp(change, new AuditRecord(Now(), change?.Actor ?? _options.DefaultActor, action, key.Value, from, to, outcome, details));
    }

    private DateTimeOffset Now() => AuditChain.TruncateToMilliseconds(_time.GetUtcNow());

    private static RekeyException KeyNotFound(KeyName name) => new(RekeyErrorCode.KeyNotFound, $"Key '{name}' does not exist.");

    private static RekeyException Destroyed(KeyName name, int version) =>
        new(RekeyErrorCode.KeyDestroyed, string.Create(CultureInfo.InvariantCulture, $"Key '{name}' version {version} is Destroyed and cannot decrypt."));
}
