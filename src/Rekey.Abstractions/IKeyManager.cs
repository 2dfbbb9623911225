using Rekey.Keys;

namespace Rekey;

/// <summary>Key lifecycle and administration: create, configure, rotate, move versions through their states, delete. Every change is audited.</summary>
public interface IKeyManager
{
    /// <summary>Creates a key with version 1 Active.</summary>
    Task<KeyInfo> CreateKeyAsync(KeyName name, KeyCreateOptions? options = null, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>Reads a key's configuration and version summary.</summary>
    Task<KeyInfo> GetKeyAsync(KeyName name, CancellationToken cancellationToken = default);

    /// <summary>Lists keys whose names start with <paramref name="prefix"/>, in name order.</summary>
    Task<IReadOnlyList<KeyInfo>> ListKeysAsync(string? prefix = null, CancellationToken cancellationToken = default);

    /// <summary>Lists a key's versions (never their material), in version order.</summary>
    Task<IReadOnlyList<KeyVersionInfo>> ListVersionsAsync(KeyName name, CancellationToken cancellationToken = default);

    /// <summary>Changes a key's configuration.</summary>
    Task<KeyInfo> UpdateKeyAsync(KeyName name, KeyConfigUpdate update, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>Deletes a key that allows it, erasing every version's material.</summary>
    Task DeleteKeyAsync(KeyName name, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>Adds a version, Active unless staged as Pending.</summary>
    Task<KeyVersionInfo> RotateAsync(KeyName name, RotateOptions? options = null, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes a one-time RSA-4096 key pair for importing material generated elsewhere as a new
    /// version of <paramref name="name"/>, and returns its public key and token; the private key
    /// stays wrapped by the root, good for one import until <paramref name="validFor"/> has passed
    /// (default 24 hours, at most 7 days).
    /// </summary>
    Task<ImportParameters> CreateImportTokenAsync(KeyName name, TimeSpan? validFor = null, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Adds a version whose material is the 32 bytes <paramref name="wrappedMaterial"/> holds,
    /// wrapped under the public key of <paramref name="token"/> (see <see cref="ImportParameters"/>);
    /// Active unless <paramref name="activate"/> is false. The token is then spent.
    /// <c>ImportRefused</c> for an unknown, expired, spent or other key's token, and for material not
    /// wrapped for it or not 32 bytes.
    /// </summary>
    Task<KeyVersionInfo> ImportAsync(KeyName name, string token, ReadOnlyMemory<byte> wrappedMaterial, bool activate = true, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>Makes a Pending version Active.</summary>
    Task<KeyVersionInfo> ActivateAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>Suspends a version.</summary>
    Task<KeyVersionInfo> DisableAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>Returns a Disabled or Retiring version to DecryptOnly.</summary>
    Task<KeyVersionInfo> EnableAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>Starts a DecryptOnly version's grace period.</summary>
    Task<KeyVersionInfo> RetireAsync(KeyName name, int version, TimeSpan gracePeriod, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>Schedules a Disabled version for destruction after the key's delay.</summary>
    Task<KeyVersionInfo> ScheduleDestroyAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>Cancels a scheduled destruction.</summary>
    Task<KeyVersionInfo> CancelDestroyAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>Erases a version's material once its destruction delay has passed.</summary>
    Task<KeyVersionInfo> DestroyAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Erases a version's material for good, once its destruction delay has passed and (when a
    /// destroy gate is configured) the inventory shows no value under it; <paramref name="options"/>
    /// can force past the inventory with a reason.
    /// </summary>
    Task<KeyVersionInfo> DestroyAsync(KeyName name, int version, DestroyOptions options, ChangeContext? change = null, CancellationToken cancellationToken = default);

    /// <summary>Sets the lowest version allowed to decrypt.</summary>
    Task<KeyInfo> SetMinDecryptionVersionAsync(KeyName name, int minVersion, ChangeContext? change = null, CancellationToken cancellationToken = default);
}
