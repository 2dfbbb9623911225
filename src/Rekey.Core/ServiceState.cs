using System.Globalization;
using Rekey.Audit;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Root;
using Rekey.Storage;

namespace Rekey;

/// <summary>What the key manager, the crypto service and the audit service share: the store, the root, the clock, the options and the version cache.</summary>
internal sealed class ServiceState(IKeyStore store, RootKeyRing roots, RekeyServiceOptions options, TimeProvider time)
{
    public IKeyStore Store { get; } = store;

    /// <summary>Every configured root, by id: stored material is unwrapped by the root that wrapped it.</summary>
    public RootKeyRing Roots { get; } = roots;

    /// <summary>The root new material is wrapped under.</summary>
    public IRootKeyProvider Root => Roots.Primary;

    public RekeyServiceOptions Options { get; } = options;

    public TimeProvider Time { get; } = time;

    public KeyVersionCache Cache { get; } = new(store, roots, time, options.CacheTtl, options.NotifiedCacheTtl);

    public async Task RefuseAsync(ChangeContext? change, string action, KeyName name, int? from, int? to, RekeyErrorCode code, string message, CancellationToken cancellationToken)
    {
        // A refused change is evidence too (a destroy attempted too early, say): record it, then refuse.
        await Store.AppendAuditAsync(Audit(change, action, name, from, to, "refused:" + code, message), cancellationToken).ConfigureAwait(false);
        throw new RekeyException(code, message);
    }

    public async Task<(StoredKey Key, IReadOnlyList<StoredKeyVersion> Versions)> LoadAsync(KeyName name, CancellationToken cancellationToken)
    {
        var key = await Store.FindKeyAsync(name, cancellationToken).ConfigureAwait(false) ?? throw KeyNotFound(name);
        var versions = StoreIntegrity.CheckVersions(name, await Store.GetVersionsAsync(name, cancellationToken).ConfigureAwait(false));
        return (key, versions);
    }

    public AuditRecord Audit(ChangeContext? change, string action, KeyName key, int? from, int? to, string outcome, string? details)
    {
        return ChangeContext.Stamp(change, new AuditRecord(Now(), change?.Actor ?? Options.DefaultActor, action, key.Value, from, to, outcome, details));
    }

    public DateTimeOffset Now() => AuditChain.TruncateToMilliseconds(Time.GetUtcNow());

    public static RekeyException KeyNotFound(KeyName name) => new(RekeyErrorCode.KeyNotFound, $"Key '{name}' does not exist.");

    public static RekeyException Destroyed(KeyName name, int version) =>
        new(RekeyErrorCode.KeyDestroyed, string.Create(CultureInfo.InvariantCulture, $"Key '{name}' version {version} is Destroyed and cannot decrypt."));
}
