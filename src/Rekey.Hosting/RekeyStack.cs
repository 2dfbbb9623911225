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
    private RekeyStack(IKeyStore store, IRootKeyProvider root, RekeyService service)
    {
        Store = store;
        Root = root;
        Service = service;
    }

    /// <summary>The store (it also implements the token, checkpoint, job and source stores).</summary>
    public IKeyStore Store { get; }

    /// <summary>The root key provider the store's key material is wrapped by.</summary>
    public IRootKeyProvider Root { get; }

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

        time ??= TimeProvider.System;
        root ??= await OpenRootAsync(options, cancellationToken).ConfigureAwait(false);
        IKeyStore? store = null;
        try
        {
            store = options.IsPostgres
                ? await PostgresKeyStore.OpenAsync(options.Store!, time, options.FollowChanges, loggerFactory, cancellationToken).ConfigureAwait(false)
                : await SqliteKeyStore.OpenAsync(options.Store!, time, options.FollowChanges ? null : TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
            var service = new RekeyService(
                store,
                root,
                new RekeyServiceOptions
                {
                    DefaultActor = options.Actor,
                    MaxKeys = options.MaxKeys,
                    MaxVersionsPerKey = options.MaxVersionsPerKey,
                    AuditWitness = options.AuditWitness is { } witness ? new FileAuditWitness(witness) : null,

                    // A version is not destroyed while the inventory shows data under it.
                    Inventory = new Lifecycle.InventoryGate((IDataSourceStore)store, (IRewrapJobStore)store),
                },
                time);
            return new RekeyStack(store, root, service);
        }
        catch
        {
            if (store is not null)
            {
                await store.DisposeAsync().ConfigureAwait(false);
            }

            await root.DisposeAsync().ConfigureAwait(false);
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
            return root switch
            {
                _ when root.StartsWith("file:", StringComparison.Ordinal) => LocalRootKeyProvider.OpenKeyFile(root["file:".Length..]),
                _ when root.StartsWith("awskms:", StringComparison.Ordinal) => await Providers.AwsKms.AwsKmsRootKeyProvider.OpenAsync(Providers.AwsKms.AwsKmsRootOptions.Parse(root), cancellationToken).ConfigureAwait(false),
                _ => Providers.Pkcs11.Pkcs11RootKeyProvider.Open(Providers.Pkcs11.Pkcs11RootOptions.Parse(root)),
            };
        }

        var passphrase = options.RootPassphraseEnv is { } variable ? Environment.GetEnvironmentVariable(variable) : null;
        return string.IsNullOrEmpty(passphrase) || options.RootParamsFile is null
            ? throw new RekeyException(RekeyErrorCode.RootKeyUnavailable, $"The root key passphrase is read from the environment variable {options.RootPassphraseEnv}, which is not set.")
            : LocalRootKeyProvider.OpenFromPassphrase(options.RootParamsFile, passphrase);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Service.DisposeAsync().ConfigureAwait(false);
        await Store.DisposeAsync().ConfigureAwait(false);
        await Root.DisposeAsync().ConfigureAwait(false);
    }
}
