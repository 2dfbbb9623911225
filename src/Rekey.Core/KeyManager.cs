using System.Globalization;
using System.Security.Cryptography;
using Rekey.Approvals;
using Rekey.Audit;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Root;
using Rekey.Storage;

namespace Rekey;

/// <summary>
/// Key lifecycle and administration over a store: creates keys, rotates them, moves versions
/// through their states (<see cref="KeyLifecycle"/>) and deletes keys; each change is written with
/// its audit event in one store transaction, and a refused change is audited too.
/// </summary>
public sealed partial class KeyManager : IKeyManager
{
    private const int MaxRotationAttempts = 64;

    private readonly ServiceState _state;

    internal KeyManager(ServiceState state)
    {
        _state = state;
    }

    /// <summary>Creates a key with version 1 Active.</summary>
    public async Task<KeyInfo> CreateKeyAsync(KeyName name, KeyCreateOptions? options = null, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        var delay = options?.DestructionDelay ?? _state.Options.DefaultDestructionDelay;
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero, nameof(options));
        if (await _state.Store.CountKeysAsync(cancellationToken).ConfigureAwait(false) >= _state.Options.MaxKeys)
        {
            await _state.RefuseAsync(change, "key.create", name, null, null, RekeyErrorCode.LimitExceeded, $"The store holds {_state.Options.MaxKeys} keys, its configured maximum (max_keys); delete keys or raise the limit.", cancellationToken).ConfigureAwait(false);
        }

        var now = _state.Now();
        var key = new StoredKey(name, now, 1, delay, options?.DeletionAllowed ?? false);
        var first = await NewVersionAsync(name, 1, KeyVersionState.Active, now, cancellationToken).ConfigureAwait(false);
        var audit = _state.Audit(change, "key.create", name, null, 1, "success", null);
        await _state.Store.CreateKeyAsync(key, first, audit, cancellationToken).ConfigureAwait(false);
        return Summarize(key, [first]);
    }

    /// <summary>Reads a key's configuration and version summary.</summary>
    public async Task<KeyInfo> GetKeyAsync(KeyName name, CancellationToken cancellationToken = default)
    {
        var (key, versions) = await _state.LoadAsync(name, cancellationToken).ConfigureAwait(false);
        return Summarize(key, versions);
    }

    /// <summary>Lists keys whose names start with <paramref name="prefix"/>.</summary>
    public async Task<IReadOnlyList<KeyInfo>> ListKeysAsync(string? prefix = null, CancellationToken cancellationToken = default)
    {
        var keys = await _state.Store.ListKeysAsync(prefix, cancellationToken).ConfigureAwait(false);
        var result = new List<KeyInfo>(keys.Count);
        foreach (var key in keys)
        {
            var versions = StoreIntegrity.CheckVersions(key.Name, await _state.Store.GetVersionsAsync(key.Name, cancellationToken).ConfigureAwait(false));
            result.Add(Summarize(key, versions));
        }

        return result;
    }

    /// <summary>Lists a key's versions with state, times and usage counts (never material).</summary>
    public async Task<IReadOnlyList<KeyVersionInfo>> ListVersionsAsync(KeyName name, CancellationToken cancellationToken = default)
    {
        var (_, versions) = await _state.LoadAsync(name, cancellationToken).ConfigureAwait(false);
        return versions.Select(v => v.Info).ToList();
    }

    /// <summary>
    /// Adds a version. By default it becomes Active and the old Active becomes DecryptOnly, in one
    /// transaction. With an expected Active version, a concurrent rotation makes this one fail
    /// with <c>Conflict</c>; without, concurrent rotations all succeed one after another.
    /// </summary>
    public Task<KeyVersionInfo> RotateAsync(KeyName name, RotateOptions? options = null, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        AddVersionAsync(name, options ?? new RotateOptions(), null, change, cancellationToken);

    // A rotation, or with imported material an import: the same transaction either way, the
    // import also spending its token in it.
    private async Task<KeyVersionInfo> AddVersionAsync(KeyName name, RotateOptions options, ImportedMaterial? imported, ChangeContext? change, CancellationToken cancellationToken)
    {
        var action = imported is null ? "key.rotate" : "key.import";
        if (imported is null && options.Cause is null or "manual")
        {
            var hold = ApprovalRequest.For(ApprovalOperations.Rotate, name.Value).With(ApprovalFields.Activate, ApprovalFields.Bool(options.Activate));
            if (options.ExpectedActiveVersion is { } expectedVersion)
            {
                hold = hold.With(ApprovalFields.ExpectedVersion, expectedVersion.ToString(CultureInfo.InvariantCulture));
            }

            await HoldAsync(hold, change, cancellationToken).ConfigureAwait(false);
        }

        for (var attempt = 1; ; attempt++)
        {
            var (_, versions) = await _state.LoadAsync(name, cancellationToken).ConfigureAwait(false);
            var active = versions.Single(v => v.Info.State == KeyVersionState.Active);
            if (versions.Count >= _state.Options.MaxVersionsPerKey)
            {
                await _state.RefuseAsync(change, action, name, active.Info.Version, null, RekeyErrorCode.LimitExceeded, $"Key '{name}' has {versions.Count} versions, the configured maximum (max_versions_per_key); raise the limit if this key really rotates that often.", cancellationToken).ConfigureAwait(false);
            }

            if (options.ExpectedActiveVersion is { } expected && expected != active.Info.Version)
            {
                throw new RekeyException(RekeyErrorCode.Conflict, $"Key '{name}' has Active version {active.Info.Version}, not {expected}.");
            }

            var now = _state.Now();
            var number = versions[^1].Info.Version + 1;
            var state = options.Activate ? KeyVersionState.Active : KeyVersionState.Pending;
            var created = imported is null
                ? await NewVersionAsync(name, number, state, now, cancellationToken).ConfigureAwait(false)
                : await WrapVersionAsync(name, number, state, now, imported.Material, KeyVersionOrigin.Imported, cancellationToken).ConfigureAwait(false);
            var updates = options.Activate ? new[] { Demote(active, now) } : [];
            // With nothing that may hold data under the key, the rotation's record is complete at
            // once (nothing to re-wrap or count), in the rotation's own transaction.
            var cause = options.Cause ?? (imported is null ? "manual" : "import");
            var complete = options.Activate && _state.Options.Inventory is { } inventory && !await inventory.MayHoldDataAsync(name, cancellationToken).ConfigureAwait(false);
            var rotation = new StoredRotation("rot_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), name, active.Info.Version, number, cause, complete ? "complete" : "prepare", "{}", now, now);
            var details = $"{(options.Activate ? "activated" : "pending")}; rotation {rotation.Id}{(complete ? " (complete: no registered data source holds the key)" : string.Empty)}; cause {cause}"
                + (imported is null ? string.Empty : $"; imported material, import token {imported.Token}")
                + (options.Details is null ? string.Empty : "; " + options.Details);
            var audit = _state.Audit(change, action, name, active.Info.Version, number, "success", details);
            try
            {
                await _state.Store.ApplyAsync(new KeyChange(name, updates, created, null, audit, rotation, imported?.Token), cancellationToken).ConfigureAwait(false);
                _state.Cache.Invalidate(name);
                return created.Info;
            }
            catch (RekeyException e) when (e.Code == RekeyErrorCode.Conflict && options.ExpectedActiveVersion is null && attempt < MaxRotationAttempts)
            {
                // Another rotation won the race for this version number; read again and follow it.
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 5 * attempt)), _state.Time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Makes a Pending version Active; the old Active becomes DecryptOnly.</summary>
    public Task<KeyVersionInfo> ActivateAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        TransitionAsync(name, version, KeyVersionState.Active, "version.activate", change, cancellationToken);

    /// <summary>Suspends a version: it neither encrypts nor decrypts until enabled again.</summary>
    public Task<KeyVersionInfo> DisableAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        TransitionAsync(name, version, KeyVersionState.Disabled, "version.disable", change, cancellationToken, hold: ApprovalRequest.For(ApprovalOperations.Disable, name.Value, version));

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
        foreach (var due in await _state.Store.GetRetiringDueAsync(_state.Time.GetUtcNow(), cancellationToken).ConfigureAwait(false))
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
        TransitionAsync(name, version, KeyVersionState.DestroyScheduled, "version.schedule_destroy", change, cancellationToken, hold: ApprovalRequest.For(ApprovalOperations.ScheduleDestroy, name.Value, version));

    /// <summary>Cancels a scheduled destruction; the version returns to Disabled.</summary>
    public Task<KeyVersionInfo> CancelDestroyAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        TransitionAsync(name, version, KeyVersionState.Disabled, "version.cancel_destroy", change, cancellationToken);

    /// <summary>Erases a version's material for good, once its destruction delay has passed.</summary>
    public Task<KeyVersionInfo> DestroyAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        DestroyAsync(name, version, new DestroyOptions(), change, cancellationToken);

    /// <summary>
    /// Erases a version's material for good, once its destruction delay has passed and the
    /// configured destroy gate (the inventory) allows it; forcing past the gate needs a reason.
    /// </summary>
    public async Task<KeyVersionInfo> DestroyAsync(KeyName name, int version, DestroyOptions options, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Force && string.IsNullOrWhiteSpace(change?.Reason))
        {
            await _state.RefuseAsync(change, "version.destroy", name, version, null, RekeyErrorCode.InvalidRequest,
                "Forcing a destruction past the inventory needs a reason (an incident or change number); it is recorded in the audit log.", cancellationToken).ConfigureAwait(false);
        }

        string? forced = null;
        if (_state.Options.Inventory is { } inventory)
        {
            var (_, versions) = await _state.LoadAsync(name, cancellationToken).ConfigureAwait(false);
            var target = versions.FirstOrDefault(v => v.Info.Version == version)
                ?? throw new RekeyException(RekeyErrorCode.VersionNotFound, $"Key '{name}' has no version {version}.");
            if (target.Info.State != KeyVersionState.Destroyed
                && await inventory.CheckDestroyAsync(target.Info, versions.Select(v => v.Info).ToList(), cancellationToken).ConfigureAwait(false) is { } refusal)
            {
                if (!options.Force)
                {
                    await _state.RefuseAsync(change, "version.destroy", name, version, null, RekeyErrorCode.PolicyViolation,
                        refusal + " Re-wrap the data first, or force with a reason.", cancellationToken).ConfigureAwait(false);
                }

                forced = "forced past the inventory: " + refusal;
            }

            // The evidence that nothing remained under the version, in the destruction's own event.
            if (target.Info.State != KeyVersionState.Destroyed)
            {
                var evidence = "inventory: " + await inventory.EvidenceAsync(target.Info, cancellationToken).ConfigureAwait(false);
                forced = forced is null ? evidence : forced + "; " + evidence;
            }
        }

        var hold = ApprovalRequest.For(ApprovalOperations.Destroy, name.Value, version).With(ApprovalFields.Force, ApprovalFields.Bool(options.Force));
        return await TransitionAsync(name, version, KeyVersionState.Destroyed, "version.destroy", change, cancellationToken, note: forced, hold: hold).ConfigureAwait(false);
    }

    /// <summary>Sets the lowest version allowed to decrypt; it may not exceed the Active version.</summary>
    public async Task<KeyInfo> SetMinDecryptionVersionAsync(KeyName name, int minVersion, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minVersion, 1);
        var (key, versions) = await _state.LoadAsync(name, cancellationToken).ConfigureAwait(false);
        var active = versions.Single(v => v.Info.State == KeyVersionState.Active).Info.Version;
        if (minVersion > active)
        {
            await _state.RefuseAsync(change, "key.set_min_decryption_version", name, key.MinDecryptionVersion, minVersion, RekeyErrorCode.PolicyViolation,
                $"The minimum decryption version cannot exceed the Active version {active}.", cancellationToken).ConfigureAwait(false);
        }

        await HoldAsync(ApprovalRequest.For(ApprovalOperations.KeyConfig, name.Value).With(ApprovalFields.MinDecryptionVersion, minVersion.ToString(CultureInfo.InvariantCulture)), change, cancellationToken).ConfigureAwait(false);
        var updated = key with { MinDecryptionVersion = minVersion };
        var audit = _state.Audit(change, "key.set_min_decryption_version", name, key.MinDecryptionVersion, minVersion, "success", null);
        await _state.Store.ApplyAsync(new KeyChange(name, [], null, updated, audit), cancellationToken).ConfigureAwait(false);
        _state.Cache.Invalidate(name);
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

        var (key, versions) = await _state.LoadAsync(name, cancellationToken).ConfigureAwait(false);
        var hold = ApprovalRequest.For(ApprovalOperations.KeyConfig, name.Value);
        if (update.DestructionDelay is { } delay)
        {
            hold = hold.With(ApprovalFields.DestructionDelayMilliseconds, ((long)delay.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));
        }

        if (update.DeletionAllowed is { } allowed)
        {
            hold = hold.With(ApprovalFields.DeletionAllowed, ApprovalFields.Bool(allowed));
        }

        await HoldAsync(hold, change, cancellationToken).ConfigureAwait(false);
        var updated = key with
        {
            DestructionDelay = update.DestructionDelay ?? key.DestructionDelay,
            DeletionAllowed = update.DeletionAllowed ?? key.DeletionAllowed,
        };
        var details = string.Create(CultureInfo.InvariantCulture, $"destruction_delay: {updated.DestructionDelay}; deletion_allowed: {updated.DeletionAllowed}");
        var audit = _state.Audit(change, "key.update", name, null, null, "success", details);
        await _state.Store.ApplyAsync(new KeyChange(name, [], null, updated, audit), cancellationToken).ConfigureAwait(false);
        _state.Cache.Invalidate(name);
        return Summarize(updated, versions);
    }

    /// <summary>
    /// Deletes a key and every version's material: whatever it protects becomes unreadable. Only
    /// for a key created or updated with deletion allowed (else <c>PolicyViolation</c>, audited).
    /// </summary>
    public async Task DeleteKeyAsync(KeyName name, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        var (key, versions) = await _state.LoadAsync(name, cancellationToken).ConfigureAwait(false);
        if (!key.DeletionAllowed)
        {
            await _state.RefuseAsync(change, "key.delete", name, null, null, RekeyErrorCode.PolicyViolation,
                $"Key '{name}' does not allow deletion; update it with deletion allowed first.", cancellationToken).ConfigureAwait(false);
        }

        await HoldAsync(ApprovalRequest.For(ApprovalOperations.DeleteKey, name.Value), change, cancellationToken).ConfigureAwait(false);
        var audit = _state.Audit(change, "key.delete", name, null, null, "success", string.Create(CultureInfo.InvariantCulture, $"{versions.Count} versions erased"));
        await _state.Store.DeleteKeyAsync(name, audit, cancellationToken).ConfigureAwait(false);
        _state.Cache.Invalidate(name);
    }

    // Dual control: a no-op without a gate, and for changes a policy makes (the policy itself was
    // set under the approval rules).
    private Task HoldAsync(ApprovalRequest request, ChangeContext? change, CancellationToken cancellationToken) =>
        _state.Options.Approvals is { } gate && change is not { ByPolicy: true } ? gate.CheckAsync(request, change, cancellationToken) : Task.CompletedTask;

    private async Task<KeyVersionInfo> TransitionAsync(
        KeyName name,
        int version,
        KeyVersionState to,
        string action,
        ChangeContext? change,
        CancellationToken cancellationToken,
        TimeSpan? gracePeriod = null,
        string? note = null,
        ApprovalRequest? hold = null)
    {
        var (key, versions) = await _state.LoadAsync(name, cancellationToken).ConfigureAwait(false);
        var target = versions.FirstOrDefault(v => v.Info.Version == version)
            ?? throw new RekeyException(RekeyErrorCode.VersionNotFound, $"Key '{name}' has no version {version}.");
        var from = target.Info.State;
        var now = _state.Now();
        var refusal = CheckTransition(name, key, target, to, now);
        if (refusal is not null)
        {
            await _state.RefuseAsync(change, action, name, version, null, refusal.Code, refusal.Message, cancellationToken).ConfigureAwait(false);
        }

        // Held for approval only once the transition itself is allowed, so nobody is asked to
        // approve what would be refused anyway.
        if (hold is not null)
        {
            await HoldAsync(hold, change, cancellationToken).ConfigureAwait(false);
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
        var audit = _state.Audit(change, action, name, version, to == KeyVersionState.Active ? version : null, "success", $"{from} -> {to}" + (note is null ? string.Empty : "; " + note));
        await _state.Store.ApplyAsync(new KeyChange(name, updates, null, null, audit), cancellationToken).ConfigureAwait(false);
        _state.Cache.Invalidate(name);
        return info;
    }

    // Retiring -> Disabled at the deadline. Several callers (or instances) may race to do it: the
    // store applies the change only if the version is still Retiring, and the losers carry on.
    internal async Task<bool> ExpireRetiredAsync(KeyName name, int version, CancellationToken cancellationToken)
    {
        var (_, versions) = await _state.LoadAsync(name, cancellationToken).ConfigureAwait(false);
        var target = versions.FirstOrDefault(v => v.Info.Version == version);
        if (target?.Info is not { State: KeyVersionState.Retiring, RetireDeadline: { } deadline })
        {
            return false;
        }

        var info = target.Info with { State = KeyVersionState.Disabled, RetireDeadline = null };
        var audit = new AuditRecord(_state.Now(), _state.Options.DefaultActor, "version.retire_expire", name.Value, version, null, "success", $"Retiring -> Disabled: retire deadline {deadline:O} passed");
        try
        {
            await _state.Store.ApplyAsync(new KeyChange(name, [new VersionUpdate(target with { Info = info }, KeyVersionState.Retiring)], null, null, audit), cancellationToken).ConfigureAwait(false);
        }
        catch (RekeyException e) when (e.Code == RekeyErrorCode.Conflict)
        {
            return false;
        }
        finally
        {
            _state.Cache.Invalidate(name);
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

    private async Task<StoredKeyVersion> NewVersionAsync(KeyName name, int version, KeyVersionState state, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var material = new byte[Crypto.AesKeyWrapPadded.KeySize];
        try
        {
            RandomNumberGenerator.Fill(material);
            return await WrapVersionAsync(name, version, state, now, material, KeyVersionOrigin.Generated, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
        }
    }

    private async Task<StoredKeyVersion> WrapVersionAsync(KeyName name, int version, KeyVersionState state, DateTimeOffset now, ReadOnlyMemory<byte> material, KeyVersionOrigin origin, CancellationToken cancellationToken)
    {
        var wrapped = await _state.Root.WrapAsync(material, RootBindings.ForKeyVersion(name, version), cancellationToken).ConfigureAwait(false);
        var info = new KeyVersionInfo(name, version, state, now, state == KeyVersionState.Active ? now : null, null, null, null, null, 0, 0, origin);
        return new StoredKeyVersion(info, wrapped, _state.Root.KeyId);
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
}
