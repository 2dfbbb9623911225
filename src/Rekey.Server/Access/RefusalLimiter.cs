using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace Rekey.Server.Access;

/// <summary>
/// Bounds how many refusals of unauthenticated calls are audited one by one, per client address
/// (a fixed window from System.Threading.RateLimiting, ASP.NET Core's rate limiter). Beyond it,
/// refusals are only counted, and <see cref="RefusalSummaryWorker"/> writes one event per address
/// ("N refusals from ADDRESS ..."), so a flood of made-up tokens cannot grow the log without bound.
/// </summary>
internal sealed class RefusalLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;
    private readonly ConcurrentDictionary<string, long> _suppressed = new(StringComparer.Ordinal);

    public RefusalLimiter(int perMinute)
    {
        _limiter = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetFixedWindowLimiter(
            address,
            _ => new FixedWindowRateLimiterOptions { PermitLimit = perMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0, AutoReplenishment = true }));
    }

    /// <summary>True when this refusal from <paramref name="address"/> is audited on its own; otherwise it is counted for the summary.</summary>
    public bool ShouldRecord(string address)
    {
        using var lease = _limiter.AttemptAcquire(address);
        if (lease.IsAcquired)
        {
            return true;
        }

        _suppressed.AddOrUpdate(address, 1, (_, n) => n + 1);
        return false;
    }

    /// <summary>The refusals counted but not recorded since the last call, by address.</summary>
    public IReadOnlyList<(string Address, long Count)> Drain()
    {
        var drained = new List<(string, long)>();
        foreach (var address in _suppressed.Keys)
        {
            if (_suppressed.TryRemove(address, out var count) && count > 0)
            {
                drained.Add((address, count));
            }
        }

        return drained;
    }

    public void Dispose() => _limiter.Dispose();
}
