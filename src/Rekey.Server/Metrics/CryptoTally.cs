using Rekey.Keys;

namespace Rekey.Server.Metrics;

/// <summary>
/// Counts a batch's successful operations by version and records them in as few counter
/// updates as there are runs of one version (one, nearly always), instead of one per item.
/// </summary>
internal sealed class CryptoTally(RekeyMetrics metrics, string operation, KeyName key)
{
    private int _version;
    private long _count;

    /// <summary>Counts one success under <paramref name="version"/>.</summary>
    public void Add(int version)
    {
        if (version != _version)
        {
            Flush();
            _version = version;
        }

        _count++;
    }

    /// <summary>Records what was counted.</summary>
    public void Flush()
    {
        metrics.Crypto(operation, key, _version, _count);
        _count = 0;
    }
}
