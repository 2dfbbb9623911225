using Microsoft.Extensions.Logging;
using Rekey.Audit;
using Rekey.Errors;
using Rekey.Root;
using Rekey.Storage;
using Rekey.Storage.Postgres;
using Rekey.Storage.Sqlite;

namespace Rekey.Hosting;

/// <summary>
/// An opened in-process Rekey: the store, the root key provider and the service over them, built
/// from <see cref="RekeyStackOptions"/>. Disposing it disposes all three, the service first.
/// </summary>
/// <remarks>
/// This is the one place that turns configuration into a store and a root: <c>rekey server</c>,
/// every local CLI command and <c>AddRekey</c> open through it, so a new store engine or root
/// provider is added here once.
/// </remarks>
public sealed class RekeyStack : IAsyncDisposable
{
    private RekeyStack(IKeyStore store, RootKeyRing roots, RekeyService service)
    {
        Store = store;
        Roots = roots;
        Service = service;
    }

    /// <summary>The store (it also implements the token, checkpoint, job and source stores).</summary>
    public IKeyStore Store { get; }

    /// <summary>The root key provider new material is wrapped by.</summary>
    public IRootKeyProvider Root => Roots.Primary;

    /// <summary>Every configured root: the primary, and the previous roots a migration moves material from.</summary>
    public RootKeyRing Roots { get; }

    /// <summary>The service over <see cref="Store"/> and <see cref="Root"/>.</summary>
    public RekeyService Service { get; }

    /// <summary>
    /// Opens the root key (unless <paramref name="root"/> is given, which the stack then owns),
    /// opens the store and brings its schema up to date, and builds the service. The store logs
    /// what it does in the background (a lost change listener, an erasure's wait) to
    /// <paramref name="loggerFactory"/>.
    /// </summary>
    /// <exception cref="RekeyException"><see cref="RekeyErrorCode.InvalidRequest"/> naming every problem with <paramref name="options"/>; <see cref="RekeyErrorCode.RootKeyUnavailable"/> when the root key cannot be opened.</exception>
    /// <exception cref="RekeyStoreException">The store cannot be opened.</exception>
    public static async Task<RekeyStack> OpenAsync(RekeyStackOptions options, TimeProvider? time = null, IRootKeyProvider? root = null, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (root is null && options.Validate() is { Count: > 0 } problems)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, string.Join(" ", problems));
        }

        return await OpenAsync(options, root is null ? await OpenRingAsync(options, cancellationToken).ConfigureAwait(false) : new RootKeyRing(root), time, loggerFactory, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Opens the store over <paramref name="roots"/> (which the stack then owns) and builds the
    /// service: new material is wrapped by the ring's primary, and material under any root in it is read.
    /// </summary>
    /// <exception cref="RekeyStoreException">The store cannot be opened.</exception>
    public static async Task<RekeyStack> OpenAsync(RekeyStackOptions options, RootKeyRing roots, TimeProvider? time = null, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(roots);
        time ??= TimeProvider.System;
        IKeyStore? store = null;
        try
        {
            store = options.IsPostgres
                ? await PostgresKeyStore.OpenAsync(options.Store!, time, options.FollowChanges, loggerFactory, cancellationToken).ConfigureAwait(false)
                : await SqliteKeyStore.OpenAsync(options.Store!, time, options.FollowChanges ? null : TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
            var service = new RekeyService(
                store,
                roots,
                new RekeyServiceOptions
                {
                    DefaultActor = options.Actor,
                    MaxKeys = options.MaxKeys,
                    MaxVersionsPerKey = options.MaxVersionsPerKey,
                    AuditWitness = options.AuditWitness is { } witness ? new FileAuditWitness(witness) : null,

                    // A version is not destroyed while the inventory shows data under it.
                    Inventory = new Lifecycle.InventoryGate((IDataSourceStore)store, (IRewrapJobStore)store),

                    // Operations the policies (or the configuration) hold for approval wait for their approvers.
                    Approvals = new Lifecycle.ApprovalGate((ILifecycleStore)store, (IApprovalStore)store, options.Approvals, time),
                },
                time);
            return new RekeyStack(store, roots, service);
        }
        catch
        {
            if (store is not null)
            {
                await store.DisposeAsync().ConfigureAwait(false);
            }

            await roots.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Opens the root key <paramref name="options"/> name: a key file, a key in a PKCS#11 token, a
    /// key in AWS KMS, or a passphrase from the environment.
    /// </summary>
    public static async Task<IRootKeyProvider> OpenRootAsync(RekeyStackOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.RootKeyFile is { } keyFile)
        {
            return LocalRootKeyProvider.OpenKeyFile(keyFile);
        }

        if (options.Root is { } root)
        {
            return await OpenRootAsync(root, cancellationToken).ConfigureAwait(false);
        }

        var passphrase = options.RootPassphraseEnv is { } variable ? Environment.GetEnvironmentVariable(variable) : null;
        return string.IsNullOrEmpty(passphrase) || options.RootParamsFile is null
            ? throw new RekeyException(RekeyErrorCode.RootKeyUnavailable, $"The root key passphrase is read from the environment variable {options.RootPassphraseEnv}, which is not set.")
            : LocalRootKeyProvider.OpenFromPassphrase(options.RootParamsFile, passphrase);
    }

    /// <summary>
    /// Opens the root one setting names: <c>file:PATH</c>, <c>pkcs11:...</c> or <c>awskms:...</c>.
    /// </summary>
    /// <exception cref="RekeyException"><see cref="RekeyErrorCode.InvalidRequest"/> for a setting of no known kind or with a missing part; <see cref="RekeyErrorCode.RootKeyUnavailable"/> when the root cannot be opened.</exception>
    public static async Task<IRootKeyProvider> OpenRootAsync(string root, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (RekeyStackOptions.RootKindProblem(root) is { } problem)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, problem);
        }

        return root switch
        {
            _ when root.StartsWith("file:", StringComparison.Ordinal) => LocalRootKeyProvider.OpenKeyFile(root["file:".Length..]),
            _ when root.StartsWith("passphrase:", StringComparison.Ordinal) => OpenPassphrase(root),
            _ when root.StartsWith("awskms:", StringComparison.Ordinal) => await Providers.AwsKms.AwsKmsRootKeyProvider.OpenAsync(Providers.AwsKms.AwsKmsRootOptions.Parse(root), cancellationToken).ConfigureAwait(false),
            _ => Providers.Pkcs11.Pkcs11RootKeyProvider.Open(Providers.Pkcs11.Pkcs11RootOptions.Parse(root)),
        };
    }

    /// <summary>Spells a passphrase root as one setting, as <see cref="OpenRootAsync(string, CancellationToken)"/> reads it.</summary>
    public static string PassphraseSetting(string parametersFile, string variable) => $"passphrase:params={parametersFile};env={variable}";

    private static LocalRootKeyProvider OpenPassphrase(string root)
    {
        const string Usage = "A passphrase root is passphrase:params=PATH;env=VAR (the parameters file rekey init made, and the environment variable holding the passphrase).";
        var fields = RootSetting.Fields(root, "passphrase:", Usage, "params", "env");
        if (!fields.TryGetValue("params", out var parameters) || !fields.TryGetValue("env", out var variable))
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, Usage);
        }

        var passphrase = Environment.GetEnvironmentVariable(variable);
        return string.IsNullOrEmpty(passphrase)
            ? throw new RekeyException(RekeyErrorCode.RootKeyUnavailable, $"The root key passphrase is read from the environment variable {variable}, which is not set.")
            : LocalRootKeyProvider.OpenFromPassphrase(parameters, passphrase);
    }

    /// <summary>
    /// Opens the primary root <paramref name="options"/> name and each of its previous roots, as one
    /// ring; a root that does not open closes those opened before it.
    /// </summary>
    public static async Task<RootKeyRing> OpenRingAsync(RekeyStackOptions options, CancellationToken cancellationToken = default)
    {
        var (primary, previous) = await OpenRootsAsync(options, cancellationToken).ConfigureAwait(false);
        return new RootKeyRing(primary, [.. previous.Select(p => p.Provider)]);
    }

    /// <summary>
    /// Gives the running ring the roots <paramref name="options"/> name now (after a migration
    /// rewrote the configuration, say): new material is wrapped by the new primary at once. A root
    /// the configuration no longer names but that still wraps something in the store stays readable
    /// (and is reported in <see cref="RootReload.KeptUnconfigured"/>), so a reload never strands data.
    /// </summary>
    public async Task<RootReload> ReloadRootsAsync(RekeyStackOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (primary, previous) = await OpenRootsAsync(options, cancellationToken).ConfigureAwait(false);
        var opened = new List<IRootKeyProvider> { primary };
        opened.AddRange(previous.Select(p => p.Provider));

        // A root already open is kept as it is: its sessions and caches stay warm.
        var chosen = new List<IRootKeyProvider>();
        foreach (var provider in opened)
        {
            if (Roots.TryResolve(provider.KeyId, out var existing))
            {
                await provider.DisposeAsync().ConfigureAwait(false);
                chosen.Add(existing);
            }
            else
            {
                chosen.Add(provider);
            }
        }

        var usage = Store is IRootMigrationStore migrations ? await migrations.CountByRootAsync(cancellationToken).ConfigureAwait(false) : [];
        var kept = Roots.KeyIds
            .Where(id => chosen.All(c => c.KeyId != id) && usage.Any(u => u.RootKeyId == id && u.Total > 0))
            .Select(Roots.Resolve)
            .ToList();
        Roots.Replace(chosen[0], [.. chosen.Skip(1), .. kept]);
        return new RootReload(chosen[0].KeyId, [.. chosen.Skip(1).Select(p => p.KeyId)], [.. kept.Select(p => p.KeyId)]);
    }

    /// <summary>
    /// Opens the primary root <paramref name="options"/> name and each previous root, each with the
    /// setting it was opened from. A root named twice (as primary and previous, or twice as
    /// previous) is opened once; a root that does not open closes those opened before it.
    /// </summary>
    public static async Task<(IRootKeyProvider Primary, IReadOnlyList<(string Setting, IRootKeyProvider Provider)> Previous)> OpenRootsAsync(RekeyStackOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var primary = await OpenRootAsync(options, cancellationToken).ConfigureAwait(false);
        var previous = new List<(string Setting, IRootKeyProvider Provider)>();
        try
        {
            foreach (var setting in options.PreviousRoots)
            {
                var provider = await OpenRootAsync(setting, cancellationToken).ConfigureAwait(false);
                if (provider.KeyId == primary.KeyId || previous.Any(p => p.Provider.KeyId == provider.KeyId))
                {
                    await provider.DisposeAsync().ConfigureAwait(false);
                    continue;
                }

                previous.Add((setting, provider));
            }

            return (primary, previous);
        }
        catch
        {
            await primary.DisposeAsync().ConfigureAwait(false);
            foreach (var (_, provider) in previous)
            {
                await provider.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Service.DisposeAsync().ConfigureAwait(false);
        await Store.DisposeAsync().ConfigureAwait(false);
        await Roots.DisposeAsync().ConfigureAwait(false);
    }
}
