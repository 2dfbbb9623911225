using Rekey.Keys;

namespace Rekey;

/// <summary>
/// What the service asks about the data under a key's versions, beyond their states: whether a
/// version may be destroyed now, and whether any registered data source may hold the key at all.
/// The lifecycle library answers from the registered sources and the inventory their re-wrap jobs
/// count. Set on <see cref="RekeyServiceOptions.Inventory"/>.
/// </summary>
public interface IDataInventory
{
    /// <summary>Null when <paramref name="version"/> may be destroyed; otherwise why not, as a sentence for the caller.</summary>
    /// <param name="version">The version about to be destroyed.</param>
    /// <param name="versions">Every version of its key, oldest first.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    Task<string?> CheckDestroyAsync(KeyVersionInfo version, IReadOnlyList<KeyVersionInfo> versions, CancellationToken cancellationToken);

    /// <summary>
    /// False when no registered data source may hold <paramref name="key"/>'s ciphertexts: a
    /// rotation then has nothing to re-wrap or count, and its record is complete at once.
    /// </summary>
    Task<bool> MayHoldDataAsync(KeyName key, CancellationToken cancellationToken);

    /// <summary>
    /// What the inventory shows for <paramref name="version"/> now, as a sentence recorded with its
    /// destruction: each source that may hold the key with the values it counted under the version
    /// and when, or that no registered source may hold the key. The compliance report quotes it.
    /// </summary>
    Task<string> EvidenceAsync(KeyVersionInfo version, CancellationToken cancellationToken);
}
