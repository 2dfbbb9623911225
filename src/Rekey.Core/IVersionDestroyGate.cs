using Rekey.Keys;

namespace Rekey;

/// <summary>
/// Decides whether a version's material may be erased now, beyond its state and destruction
/// delay: the lifecycle library's gate refuses while the inventory shows values under the version
/// or has not been counted since the version stopped encrypting. Set on <see cref="RekeyServiceOptions.DestroyGate"/>.
/// </summary>
public interface IVersionDestroyGate
{
    /// <summary>Null when <paramref name="version"/> may be destroyed; otherwise why not, as a sentence for the caller.</summary>
    /// <param name="version">The version about to be destroyed.</param>
    /// <param name="versions">Every version of its key, oldest first.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    Task<string?> CheckAsync(KeyVersionInfo version, IReadOnlyList<KeyVersionInfo> versions, CancellationToken cancellationToken);
}
