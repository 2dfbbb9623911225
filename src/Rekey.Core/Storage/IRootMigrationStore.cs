namespace Rekey.Storage;

/// <summary>The kinds of secret a store keeps wrapped by a root key.</summary>
public enum WrappedSecretKind
{
    /// <summary>A key version's material (a KEK); destroyed versions hold none.</summary>
    KeyVersion,

    /// <summary>An audit-signing private key.</summary>
    SigningKey,

    /// <summary>A registered data source's connection string.</summary>
    DataSource,

    /// <summary>The private key of an import token not yet spent or expired.</summary>
    ImportKey,
}

/// <summary>One root-wrapped secret as stored.</summary>
/// <param name="Kind">What it is.</param>
/// <param name="Name">The key name, the signing key's id, the data source's name, or the import token.</param>
/// <param name="Version">The key version, for <see cref="WrappedSecretKind.KeyVersion"/>; 0 otherwise.</param>
/// <param name="Wrapped">The wrapped bytes.</param>
/// <param name="RootKeyId">The root that wrapped them.</param>
public sealed record WrappedSecret(WrappedSecretKind Kind, string Name, int Version, byte[] Wrapped, string RootKeyId);

/// <summary>A secret re-wrapped by another root, to be written only if the stored one is still <see cref="Old"/>.</summary>
/// <param name="Old">The secret as it was read.</param>
/// <param name="Wrapped">The new wrapped bytes.</param>
/// <param name="RootKeyId">The root that wrapped them.</param>
public sealed record WrappedSecretReplacement(WrappedSecret Old, byte[] Wrapped, string RootKeyId);

/// <summary>How many secrets one root wraps, by kind.</summary>
/// <param name="RootKeyId">The root's id.</param>
/// <param name="KeyVersions">Key versions whose material it wraps (destroyed versions hold none).</param>
/// <param name="SigningKeys">Audit-signing keys.</param>
/// <param name="DataSources">Data source connection strings.</param>
/// <param name="ImportKeys">Private keys of live import tokens.</param>
public sealed record RootUsage(string RootKeyId, long KeyVersions, long SigningKeys, long DataSources, long ImportKeys = 0)
{
    /// <summary>Everything it wraps.</summary>
    public long Total => KeyVersions + SigningKeys + DataSources + ImportKeys;
}

/// <summary>What a store offers for moving its secrets from one root key to another.</summary>
public interface IRootMigrationStore
{
    /// <summary>Every root that wraps something in the store, with how much.</summary>
    Task<IReadOnlyList<RootUsage>> CountByRootAsync(CancellationToken cancellationToken = default);

    /// <summary>Up to <paramref name="limit"/> secrets wrapped by a root other than <paramref name="rootKeyId"/>: signing keys, data sources and import keys first, then key versions.</summary>
    Task<IReadOnlyList<WrappedSecret>> ListWrappedOutsideAsync(string rootKeyId, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes each replacement whose stored secret is still exactly the one it was made from (a
    /// secret changed or erased since is left alone), and, when at least one was written, the
    /// audit event <paramref name="audit"/> builds from the number written, in one transaction.
    /// Returns the number written.
    /// </summary>
    Task<int> ReplaceWrappedAsync(IReadOnlyList<WrappedSecretReplacement> replacements, Func<int, Audit.AuditRecord> audit, CancellationToken cancellationToken = default);
}
