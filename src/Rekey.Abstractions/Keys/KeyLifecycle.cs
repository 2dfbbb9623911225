using System.Collections.Frozen;
using Rekey.Errors;

namespace Rekey.Keys;

/// <summary>
/// The one table of legal state changes and of what each state may do. Everything that
/// changes or uses a version asks here first, and the stores apply changes conditionally on the
/// state they read, so the table holds even under concurrent callers.
/// </summary>
public static class KeyLifecycle
{
    // Active is left only as the demotion half of a rotation or activation (which installs a new
    // Active in the same transaction), never on its own: a key must always have one Active.
    private static readonly FrozenSet<(KeyVersionState From, KeyVersionState To)> Allowed = new[]
    {
        (KeyVersionState.Pending, KeyVersionState.Active),
        (KeyVersionState.Pending, KeyVersionState.Disabled),
        (KeyVersionState.DecryptOnly, KeyVersionState.Retiring),
        (KeyVersionState.DecryptOnly, KeyVersionState.Disabled),
        (KeyVersionState.Retiring, KeyVersionState.DecryptOnly),
        (KeyVersionState.Retiring, KeyVersionState.Disabled),
        (KeyVersionState.Disabled, KeyVersionState.DecryptOnly),
        (KeyVersionState.Disabled, KeyVersionState.DestroyScheduled),
        (KeyVersionState.DestroyScheduled, KeyVersionState.Disabled),
        (KeyVersionState.DestroyScheduled, KeyVersionState.Destroyed),
    }.ToFrozenSet();

    /// <summary>Every legal (from, to) pair requested directly by a caller.</summary>
    public static IReadOnlyCollection<(KeyVersionState From, KeyVersionState To)> AllowedTransitions => Allowed;

    /// <summary>True when a caller may move a version directly from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static bool IsAllowed(KeyVersionState from, KeyVersionState to) => Allowed.Contains((from, to));

    /// <summary>Throws <see cref="RekeyErrorCode.TransitionNotAllowed"/> unless the change is legal.</summary>
    public static void EnsureAllowed(KeyName key, int version, KeyVersionState from, KeyVersionState to)
    {
        if (IsAllowed(from, to))
        {
            return;
        }

        var hint = from == KeyVersionState.Active
            ? " The Active version changes only by rotating or activating another version."
            : string.Empty;
        throw new RekeyException(
            RekeyErrorCode.TransitionNotAllowed,
            $"Key '{key}' version {version} cannot move from {from} to {to}.{hint}");
    }

    /// <summary>True when a version in this state may encrypt.</summary>
    public static bool CanEncrypt(KeyVersionState state) => state == KeyVersionState.Active;

    /// <summary>True when a version in this state may decrypt (and be the source of a re-wrap).</summary>
    public static bool CanDecrypt(KeyVersionState state) =>
        state is KeyVersionState.Pending or KeyVersionState.Active or KeyVersionState.DecryptOnly or KeyVersionState.Retiring;

    /// <summary>Throws the specific refusal when a version in this state may not encrypt.</summary>
    public static void EnsureCanEncrypt(KeyName key, int version, KeyVersionState state)
    {
        if (!CanEncrypt(state))
        {
            throw Refusal(key, version, state, "encrypt");
        }
    }

    /// <summary>
    /// Throws the specific refusal when a version in this state, or below the key's minimum
    /// decryption version, may not decrypt.
    /// </summary>
    public static void EnsureCanDecrypt(KeyName key, int version, KeyVersionState state, int minDecryptionVersion)
    {
        if (!CanDecrypt(state))
        {
            throw Refusal(key, version, state, "decrypt");
        }

        if (version < minDecryptionVersion)
        {
            throw new RekeyException(
                RekeyErrorCode.VersionTooOld,
                $"Key '{key}' version {version} is below the minimum decryption version {minDecryptionVersion}.");
        }
    }

    private static RekeyException Refusal(KeyName key, int version, KeyVersionState state, string operation)
    {
        var code = state switch
        {
            KeyVersionState.Destroyed => RekeyErrorCode.KeyDestroyed,
            KeyVersionState.Disabled or KeyVersionState.DestroyScheduled => RekeyErrorCode.KeyDisabled,
            _ => RekeyErrorCode.KeyInactive,
        };
        return new RekeyException(code, $"Key '{key}' version {version} is {state} and cannot {operation}.");
    }
}
