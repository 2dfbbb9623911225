using System.Collections.Frozen;
using Rekey.Errors;

namespace Rekey.Root;

/// <summary>
/// The root keys a store's material may be wrapped under, by key id: the primary wraps new
/// material, and every configured root unwraps what it wrapped. Each stored wrapped key records
/// its root's id, so during a move from one root to another (a key file to an HSM, say) the store
/// holds material under both, and each is unwrapped by the root that wrapped it.
/// </summary>
/// <remarks>
/// A running server can be given another set of roots (<see cref="Replace"/>) when its
/// configuration changes: readers see the old set or the new one, never a mix, and a root that
/// leaves the ring stays open until the ring is disposed, for an unwrap already under way.
/// </remarks>
public sealed class RootKeyRing : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly List<IRootKeyProvider> _retired = [];
    private volatile Snapshot _current;

    /// <summary>A ring with <paramref name="primary"/> for new material and <paramref name="others"/> for what they wrapped before.</summary>
    /// <exception cref="ArgumentException">Two roots have the same id.</exception>
    public RootKeyRing(IRootKeyProvider primary, params IRootKeyProvider[] others)
    {
        _current = Snapshot.Of(primary, others);
    }

    /// <summary>The root that wraps new material.</summary>
    public IRootKeyProvider Primary => _current.Primary;

    /// <summary>The ids of every root in the ring, the primary first.</summary>
    public IReadOnlyList<string> KeyIds
    {
        get
        {
            var current = _current;
            return [current.Primary.KeyId, .. current.ById.Keys.Where(id => id != current.Primary.KeyId).Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>The root with id <paramref name="keyId"/>, if it is in the ring.</summary>
    public bool TryResolve(string keyId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IRootKeyProvider? provider) =>
        _current.ById.TryGetValue(keyId, out provider);

    /// <summary>The root with id <paramref name="keyId"/>.</summary>
    /// <exception cref="RekeyException"><see cref="RekeyErrorCode.RootKeyUnavailable"/> when no configured root has that id.</exception>
    public IRootKeyProvider Resolve(string keyId)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        return TryResolve(keyId, out var provider)
            ? provider
            : throw new RekeyException(
                RekeyErrorCode.RootKeyUnavailable,
                $"Stored material was wrapped by root key {keyId}, which is not configured here (configured: {string.Join(", ", KeyIds)}); add that root to read it.");
    }

    /// <summary>
    /// Makes <paramref name="primary"/> the root for new material and <paramref name="others"/> the
    /// roots read besides it. The ring owns the new providers; those that leave it are disposed
    /// with the ring, not now.
    /// </summary>
    /// <exception cref="ArgumentException">Two roots have the same id.</exception>
    public void Replace(IRootKeyProvider primary, IEnumerable<IRootKeyProvider> others)
    {
        ArgumentNullException.ThrowIfNull(others);
        var next = Snapshot.Of(primary, [.. others]);
        lock (_gate)
        {
            var leaving = _current.ById.Values.Except(next.ById.Values);
            _retired.AddRange(leaving);
            _current = next;
        }
    }

    /// <summary>Disposes every root the ring holds or has held.</summary>
    public async ValueTask DisposeAsync()
    {
        List<IRootKeyProvider> all;
        lock (_gate)
        {
            all = [.. _current.ById.Values, .. _retired];
            _retired.Clear();
        }

        foreach (var provider in all.Distinct())
        {
            await provider.DisposeAsync().ConfigureAwait(false);
        }
    }

    private sealed record Snapshot(IRootKeyProvider Primary, FrozenDictionary<string, IRootKeyProvider> ById)
    {
        public static Snapshot Of(IRootKeyProvider primary, IRootKeyProvider[] others)
        {
            ArgumentNullException.ThrowIfNull(primary);
            ArgumentNullException.ThrowIfNull(others);
            var all = new Dictionary<string, IRootKeyProvider>(StringComparer.Ordinal) { [primary.KeyId] = primary };
            foreach (var other in others)
            {
                if (!all.TryAdd(other.KeyId, other))
                {
                    throw new ArgumentException($"Root key {other.KeyId} is given twice.", nameof(others));
                }
            }

            return new Snapshot(primary, all.ToFrozenDictionary(StringComparer.Ordinal));
        }
    }
}
