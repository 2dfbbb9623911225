using System.Globalization;
using System.Security.Cryptography;
using Rekey.Audit;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Storage;

namespace Rekey.Root;

/// <summary>How a root migration runs.</summary>
public sealed record RootMigrationOptions
{
    /// <summary>Secrets re-wrapped and written per transaction (and per audit event).</summary>
    public int BatchSize { get; init; } = 100;

    /// <summary>A pause after each batch, to spare an HSM or a KMS quota that live traffic shares.</summary>
    public TimeSpan PauseBetweenBatches { get; init; } = TimeSpan.Zero;

    /// <summary>Who runs it, as the audit log names them.</summary>
    public string Actor { get; init; } = "rekey";
}

/// <summary>Where a migration stands after a batch.</summary>
/// <param name="Batches">Batches written so far in this run.</param>
/// <param name="Moved">Secrets written under the target root in this run.</param>
public sealed record RootMigrationProgress(int Batches, long Moved);

/// <summary>What a finished migration did.</summary>
/// <param name="TargetRootKeyId">The root everything is now wrapped by.</param>
/// <param name="Batches">Batches written in this run.</param>
/// <param name="Moved">Secrets re-wrapped in this run (a resumed run counts only its own).</param>
/// <param name="Elapsed">How long the run took.</param>
public sealed record RootMigrationResult(string TargetRootKeyId, int Batches, long Moved, TimeSpan Elapsed);

/// <summary>
/// Moves every root-wrapped secret in a store (key versions' material, audit-signing keys, data
/// source connections, live import tokens' private keys) under the ring's primary root, in batches, while the store stays in use.
/// </summary>
/// <remarks>
/// Each batch unwraps with the root that wrapped each secret, wraps under the primary with the
/// same binding, and writes in one transaction with its audit event, each secret only if it is
/// still what was read. A run killed at any moment leaves every secret under its old root or its
/// new one, never neither, and the next run carries on from what is left: progress is the store's
/// own state, not a cursor. The hot path is untouched: the material itself does not change, so
/// versions cached unwrapped stay valid.
/// </remarks>
public sealed class RootMigrator
{
    // A batch of which nothing could be written means other writers rewrote every secret read in
    // between; a few of those in a row is a fault, not a race.
    private const int MaxEmptyBatches = 5;

    private readonly IRootMigrationStore _store;
    private readonly RootKeyRing _roots;
    private readonly TimeProvider _time;

    /// <summary>A migrator to <paramref name="roots"/>' primary, reading with every root in the ring.</summary>
    public RootMigrator(IRootMigrationStore store, RootKeyRing roots, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(roots);
        _store = store;
        _roots = roots;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Re-wraps until nothing in the store is under another root.</summary>
    /// <exception cref="RekeyException">
    /// <see cref="RekeyErrorCode.RootKeyUnavailable"/> when a secret's root is not in the ring or
    /// cannot be reached; <see cref="RekeyErrorCode.RootKeyRefused"/> when a root refuses a secret
    /// (altered, or copied into another slot). What was written before stays written.
    /// </exception>
    public async Task<RootMigrationResult> RunAsync(RootMigrationOptions? options = null, IProgress<RootMigrationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        options ??= new RootMigrationOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1, nameof(options));
        var started = _time.GetTimestamp();
        var target = _roots.Primary;
        var (batches, moved, empty) = (0, 0L, 0);
        while (true)
        {
            var batch = await _store.ListWrappedOutsideAsync(target.KeyId, options.BatchSize, cancellationToken).ConfigureAwait(false);
            if (batch.Count == 0)
            {
                return new RootMigrationResult(target.KeyId, batches, moved, _time.GetElapsedTime(started));
            }

            var replacements = new List<WrappedSecretReplacement>(batch.Count);
            foreach (var secret in batch)
            {
                replacements.Add(new WrappedSecretReplacement(secret, await RewrapAsync(secret, target, cancellationToken).ConfigureAwait(false), target.KeyId));
            }

            var written = await _store.ReplaceWrappedAsync(replacements, n => Audit(options.Actor, batch, n, target.KeyId), cancellationToken).ConfigureAwait(false);
            empty = written == 0 ? empty + 1 : 0;
            if (empty >= MaxEmptyBatches)
            {
                throw new RekeyException(RekeyErrorCode.Conflict, $"The root migration wrote nothing in {MaxEmptyBatches} batches in a row: the secrets it read kept changing under it. Run it again when the store is quieter.");
            }

            if (written > 0)
            {
                batches++;
                moved += written;
                progress?.Report(new RootMigrationProgress(batches, moved));
            }

            if (options.PauseBetweenBatches > TimeSpan.Zero)
            {
                await Task.Delay(options.PauseBetweenBatches, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<byte[]> RewrapAsync(WrappedSecret secret, IRootKeyProvider target, CancellationToken cancellationToken)
    {
        if (!_roots.TryResolve(secret.RootKeyId, out var source))
        {
            throw new RekeyException(
                RekeyErrorCode.RootKeyUnavailable,
                $"{Describe(secret)} is wrapped by root key {secret.RootKeyId}, which is not configured here (configured: {string.Join(", ", _roots.KeyIds)}); give it as a previous root to migrate from it.");
        }

        var binding = secret.Kind switch
        {
            WrappedSecretKind.KeyVersion => RootBindings.ForKeyVersion(KeyName.Parse(secret.Name), secret.Version),
            WrappedSecretKind.SigningKey => RootBindings.ForSigningKey(secret.Name),
            WrappedSecretKind.DataSource => RootBindings.ForDataSource(secret.Name),
            _ => RootBindings.ForImportToken(secret.Name),
        };
        byte[] plain;
        try
        {
            plain = await source.UnwrapAsync(secret.Wrapped, binding, cancellationToken).ConfigureAwait(false);
        }
        catch (RekeyException e) when (e.Code == RekeyErrorCode.RootKeyRefused)
        {
            throw new RekeyException(RekeyErrorCode.RootKeyRefused, $"Root key {secret.RootKeyId} refused {Describe(secret)}: it was altered or copied from another slot. Nothing of it was changed; run 'rekey audit verify'.");
        }

        try
        {
            return await target.WrapAsync(plain, binding, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    private AuditRecord Audit(string actor, IReadOnlyList<WrappedSecret> batch, int written, string target)
    {
        var from = string.Join(", ", batch.Select(s => s.RootKeyId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));
        var kinds = string.Join(", ", batch.GroupBy(s => s.Kind).OrderBy(g => g.Key).Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Count()} {Plural(g.Key)}")));
        return new AuditRecord(
            _time.GetUtcNow(),
            actor,
            "root.migrate",
            null,
            null,
            null,
            "success",
            string.Create(CultureInfo.InvariantCulture, $"re-wrapped {written} of {batch.Count} ({kinds}) from root {from} to root {target}"));
    }

    private static string Describe(WrappedSecret secret) => secret.Kind switch
    {
        WrappedSecretKind.KeyVersion => string.Create(CultureInfo.InvariantCulture, $"Key '{secret.Name}' version {secret.Version}"),
        WrappedSecretKind.SigningKey => $"The audit-signing key {secret.Name}",
        WrappedSecretKind.DataSource => $"The data source '{secret.Name}'",
        _ => $"The private key of import token {secret.Name}",
    };

    private static string Plural(WrappedSecretKind kind) => kind switch
    {
        WrappedSecretKind.KeyVersion => "key versions",
        WrappedSecretKind.SigningKey => "signing keys",
        WrappedSecretKind.DataSource => "data sources",
        _ => "import keys",
    };
}
