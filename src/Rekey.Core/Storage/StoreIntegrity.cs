using Rekey.Keys;

namespace Rekey.Storage;

/// <summary>
/// Checks what a store returns against what Rekey itself can ever write, so a row edited outside
/// Rekey is reported as what it is, not as a crash or a framework message.
/// </summary>
public static class StoreIntegrity
{
    /// <summary>Parses a stored version state; an unknown value is an integrity error naming the row.</summary>
    public static KeyVersionState ParseState(string text, string key, int version) =>
        Enum.TryParse<KeyVersionState>(text, ignoreCase: false, out var state) && Enum.IsDefined(state) && !int.TryParse(text, out _)
            ? state
            : throw Broken($"key '{key}' version {version} has the state '{Shorten(text)}', which Rekey never writes");

    /// <summary>Throws an integrity error unless a key's versions have exactly one Active version.</summary>
    public static IReadOnlyList<StoredKeyVersion> CheckVersions(KeyName name, IReadOnlyList<StoredKeyVersion> versions)
    {
        ArgumentNullException.ThrowIfNull(versions);
        var active = 0;
        foreach (var v in versions)
        {
            if (v.Info.State == KeyVersionState.Active)
            {
                active++;
            }
        }

        return active == 1 || versions.Count == 0
            ? versions
            : throw Broken($"key '{name}' has {active} Active versions; a key always has exactly one");
    }

    /// <summary>The integrity error: non-transient, saying the store was changed outside Rekey and what to run.</summary>
    public static Errors.RekeyStoreException Broken(string what) =>
        new($"The store is inconsistent: {what}. It was changed outside Rekey; run 'rekey audit verify' and restore it from a backup.", isTransient: false) { IsIntegrityFailure = true };

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
