using System.Security.Cryptography;
using Rekey.Audit;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Root;
using Rekey.Storage;

namespace Rekey;

/// <summary>
/// The audit log over a store: reads it, signs its head with the audit-signing key (wrapped by the
/// root), rotates that key with an endorsement, and verifies the chain, the checkpoints, the
/// stored signing keys and the versions' states against it.
/// </summary>
public sealed class AuditService : IAuditService
{
    private readonly ServiceState _state;

    internal AuditService(ServiceState state)
    {
        _state = state;
    }

    /// <summary>Reads audit events after a sequence number, oldest first.</summary>
    public Task<IReadOnlyList<AuditEvent>> ReadAuditAsync(long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(afterSequence);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return _state.Store.ReadAuditAsync(afterSequence, limit, cancellationToken);
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
        var (next, wrapped) = await AuditSigner.CreateAsync(_state.Root, cancellationToken).ConfigureAwait(false);
        using (next)
        {
            var endorsement = previous.Endorse(next);
            var record = new AuditRecord(_state.Now(), change?.Actor ?? _state.Options.DefaultActor, AuditKeyEndorsement.Action, null, null, null, "success", endorsement.ToDetails());
            await store.AddSigningKeyAsync(new StoredSigningKey(next.KeyId, next.PublicKey, wrapped, _state.Root.KeyId, _state.Now()), record, cancellationToken).ConfigureAwait(false);
            var checkpoint = await SignHeadAsync(store, next, cancellationToken).ConfigureAwait(false);
            return new AuditKeyRotation(next.KeyId, checkpoint!);
        }
    }

    /// <summary>The audit-signing public keys (SubjectPublicKeyInfo DER, by key id), for verifying checkpoints elsewhere.</summary>
    public async Task<IReadOnlyDictionary<string, byte[]>> GetAuditPublicKeysAsync(CancellationToken cancellationToken = default)
    {
        if (_state.Store is not IAuditCheckpointStore store)
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
        if (_state.Store is IAuditCheckpointStore checkpointStore)
        {
            checkpoints = await checkpointStore.GetCheckpointsAsync(cancellationToken).ConfigureAwait(false);
            signingKeys = await checkpointStore.GetSigningKeysAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var stored in signingKeys)
        {
            if (await NotOwnSigningKeyAsync(stored, cancellationToken).ConfigureAwait(false) is { } problem)
            {
                return new AuditVerification(false, 0, null, null, problem)
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
            var page = await _state.Store.ReadAuditAsync(after, 1000, cancellationToken).ConfigureAwait(false);
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
        foreach (var key in await _state.Store.ListKeysAsync(null, cancellationToken).ConfigureAwait(false))
        {
            IReadOnlyList<StoredKeyVersion> versions;
            try
            {
                versions = StoreIntegrity.CheckVersions(key.Name, await _state.Store.GetVersionsAsync(key.Name, cancellationToken).ConfigureAwait(false));
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

    private async Task<AuditSigner> CurrentSignerAsync(IAuditCheckpointStore store, ChangeContext? change, CancellationToken cancellationToken)
    {
        var keys = await store.GetSigningKeysAsync(cancellationToken).ConfigureAwait(false);
        if (keys.Count > 0)
        {
            return await AuditSigner.OpenAsync(_state.Roots.Resolve(keys[^1].RootKeyId), keys[^1].KeyId, keys[^1].WrappedPrivateKey, cancellationToken).ConfigureAwait(false);
        }

        var (created, wrapped) = await AuditSigner.CreateAsync(_state.Root, cancellationToken).ConfigureAwait(false);
        var record = new AuditRecord(_state.Now(), change?.Actor ?? _state.Options.DefaultActor, "audit.signing_key.create", null, null, null, "success", "audit-signing key " + created.KeyId);
        await store.AddSigningKeyAsync(new StoredSigningKey(created.KeyId, created.PublicKey, wrapped, _state.Root.KeyId, _state.Now()), record, cancellationToken).ConfigureAwait(false);
        return created;
    }

    private async Task<AuditCheckpoint?> SignHeadAsync(IAuditCheckpointStore store, AuditSigner signer, CancellationToken cancellationToken)
    {
        if (await store.GetAuditHeadAsync(cancellationToken).ConfigureAwait(false) is not { } head)
        {
            return null;
        }

        var checkpoint = signer.Sign(head, _state.Now());

        // The witness first: a checkpoint in the store but not in the witness would be one the
        // operator believes is protected when it is not.
        if (_state.Options.AuditWitness is { } witness)
        {
            await witness.WriteAsync(checkpoint, cancellationToken).ConfigureAwait(false);
        }

        await store.AddCheckpointAsync(checkpoint, cancellationToken).ConfigureAwait(false);
        return checkpoint;
    }

    // Null when the key was made under one of this store's roots: its private key unwraps under
    // the root it names and matches its public key. A root id this store does not have, or a
    // root that refuses the material, is evidence of insertion (or of a root left out of the
    // configuration, which the message says); a root that cannot be reached now is not, and the
    // verification then fails as unavailable instead of reporting tampering.
    private async Task<string?> NotOwnSigningKeyAsync(StoredSigningKey stored, CancellationToken cancellationToken)
    {
        if (!_state.Roots.TryResolve(stored.RootKeyId, out var root))
        {
            return $"The audit-signing key {stored.KeyId} in the store was not made under this store's root key: it names root key {stored.RootKeyId}, which this store is not configured with; it was inserted by someone without the root, or that root was left out of the configuration.";
        }

        var inserted = $"The audit-signing key {stored.KeyId} in the store was not made under this store's root key: it was inserted by someone without the root.";
        try
        {
            using var signer = await AuditSigner.OpenAsync(root, stored.KeyId, stored.WrappedPrivateKey, cancellationToken).ConfigureAwait(false);
            return CryptographicOperations.FixedTimeEquals(signer.PublicKey, stored.PublicKey) ? null : inserted;
        }
        catch (RekeyException e) when (e.Code == RekeyErrorCode.RootKeyRefused)
        {
            return inserted;
        }
        catch (CryptographicException)
        {
            return inserted;
        }
    }

    private IAuditCheckpointStore CheckpointStore() =>
        _state.Store as IAuditCheckpointStore ?? throw new NotSupportedException("This store does not keep signed audit checkpoints.");
}
