using System.Collections.Frozen;
using Rekey.Errors;

namespace Rekey.Root;

/// <summary>
/// The root keys a store's material may be wrapped under, by key id: the primary wraps new
/// material, and every configured root unwraps what it wrapped. Each stored wrapped key records
/// its root's id, so during a move from one root to another (a key file to an HSM, say) the store
/// holds material under both, and each is unwrapped by the root that wrapped it.
/// </summary>
public sealed class RootKeyRing : IAsyncDisposable
{
    private readonly FrozenDictionary<string, IRootKeyProvider> _byId;

    /// <summary>A ring with <paramref name="primary"/> for new material and <paramref name="others"/> for what they wrapped before.</summary>
    /// <exception cref="ArgumentException">Two roots have the same id.</exception>
    public RootKeyRing(IRootKeyProvider primary, params IRootKeyProvider[] others)
    {
        ArgumentNullException.ThrowIfNull(primary);
        ArgumentNullException.ThrowIfNull(others);
        Primary = primary;
        var all = new Dictionary<string, IRootKeyProvider>(StringComparer.Ordinal) { [primary.KeyId] = primary };
        foreach (var other in others)
        {
            if (!all.TryAdd(other.KeyId, other))
            {
                throw new ArgumentException($"Root key {other.KeyId} is given twice.", nameof(others));
            }
        }

        _byId = all.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>The root that wraps new material.</summary>
    public IRootKeyProvider Primary { get; }

    /// <summary>The ids of every root in the ring, the primary first.</summary>
    public IReadOnlyList<string> KeyIds => [Primary.KeyId, .. _byId.Keys.Where(id => id != Primary.KeyId).Order(StringComparer.Ordinal)];

    /// <summary>The root with id <paramref name="keyId"/>, if it is in the ring.</summary>
    public bool TryResolve(string keyId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IRootKeyProvider? provider) =>
        _byId.TryGetValue(keyId, out provider);

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

    /// <summary>Disposes every root in the ring.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var provider in _byId.Values)
        {
            await provider.DisposeAsync().ConfigureAwait(false);
        }
    }
}
