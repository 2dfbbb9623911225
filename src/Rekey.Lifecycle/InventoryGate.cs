using System.Globalization;
using Rekey.Keys;
using Rekey.Rewrap;
using Rekey.Storage;

namespace Rekey.Lifecycle;

/// <summary>
/// What the inventory says about a key's versions: per registered data source that may hold the
/// key, how many values are still under given versions, and whether it was counted since a version
/// stopped encrypting. Holds destruction (and the until-re-encrypted retention rule) to it.
/// </summary>
public sealed class InventoryGate : IDataInventory
{
    private readonly IDataSourceStore _sources;
    private readonly IRewrapJobStore _inventory;

    /// <summary>Reads registrations from <paramref name="sources"/> and counts from <paramref name="inventory"/> (usually the same store).</summary>
    public InventoryGate(IDataSourceStore sources, IRewrapJobStore inventory)
    {
        _sources = sources;
        _inventory = inventory;
    }

    /// <summary>
    /// Refuses while any inventory count shows values under the version, or while a registered
    /// source that may hold the key has not been counted since the version stopped being Active.
    /// </summary>
    public async Task<string?> CheckDestroyAsync(KeyVersionInfo version, IReadOnlyList<KeyVersionInfo> versions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(version);
        ArgumentNullException.ThrowIfNull(versions);
        var counts = await _inventory.GetInventoryAsync(version.Key, cancellationToken).ConfigureAwait(false);
        if (counts.FirstOrDefault(c => c.Version == version.Version && c.Count > 0) is { } held)
        {
            return string.Create(CultureInfo.InvariantCulture, $"The inventory of {held.Source} counted {held.Count} values under key '{version.Key}' version {version.Version} at {held.CountedAt:u}.");
        }

        // Values are only ever added under the Active version, so a count finished after this
        // version stopped encrypting is current for it, however often the key rotated since.
        var since = version.DeactivatedAt ?? version.CreatedAt;
        foreach (var source in await HoldingAsync(version.Key, cancellationToken).ConfigureAwait(false))
        {
            var counted = counts.Where(c => c.Source == DataSources.InventoryName(source)).Select(c => (DateTimeOffset?)c.CountedAt).Max();
            if (counted is null || counted < since)
            {
                return string.Create(CultureInfo.InvariantCulture, $"The data source '{source}' may hold key '{version.Key}' and has not been counted since version {version.Version} stopped encrypting at {since:u} (run a re-wrap job over it).");
            }
        }

        return null;
    }

    /// <inheritdoc />
    public async Task<string> EvidenceAsync(KeyVersionInfo version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(version);
        var holding = await HoldingAsync(version.Key, cancellationToken).ConfigureAwait(false);
        if (holding.Count == 0)
        {
            return "no registered data source may hold the key";
        }

        var counts = await _inventory.GetInventoryAsync(version.Key, cancellationToken).ConfigureAwait(false);
        return string.Join("; ", holding.Select(source =>
        {
            var rows = counts.Where(c => c.Source == DataSources.InventoryName(source)).ToList();
            if (rows.Count == 0)
            {
                return $"{source} never counted";
            }

            var under = rows.Where(c => c.Version == version.Version).Sum(c => c.Count);
            return string.Create(CultureInfo.InvariantCulture, $"{source} counted {under} values under version {version.Version} at {rows.Max(c => c.CountedAt):u}");
        }));
    }

    /// <summary>True when some registered source's key patterns include <paramref name="key"/>.</summary>
    public async Task<bool> MayHoldDataAsync(KeyName key, CancellationToken cancellationToken) =>
        (await HoldingAsync(key, cancellationToken).ConfigureAwait(false)).Count > 0;

    /// <summary>The registered sources whose key patterns include <paramref name="key"/>.</summary>
    public async Task<IReadOnlyList<string>> HoldingAsync(KeyName key, CancellationToken cancellationToken) =>
        (await _sources.ListDataSourcesAsync(cancellationToken).ConfigureAwait(false))
            .Select(DataSources.Describe)
            .Where(s => s.Allows(key))
            .Select(s => s.Name)
            .ToList();

    /// <summary>
    /// Per registered source holding the key: values still under versions older than
    /// <paramref name="version"/>, or null when the source has not been counted since <paramref name="since"/>.
    /// </summary>
    public async Task<Dictionary<string, long?>> RemainingAsync(KeyName key, int version, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var counts = await _inventory.GetInventoryAsync(key, cancellationToken).ConfigureAwait(false);
        var remaining = new Dictionary<string, long?>(StringComparer.Ordinal);
        foreach (var source in await HoldingAsync(key, cancellationToken).ConfigureAwait(false))
        {
            var rows = counts.Where(c => c.Source == DataSources.InventoryName(source)).ToList();
            remaining[source] = rows.Count == 0 || rows.Max(c => c.CountedAt) < since ? null : rows.Where(c => c.Version < version).Sum(c => c.Count);
        }

        return remaining;
    }
}
