using Rekey.Keys;

namespace Rekey.Audit;

/// <summary>
/// Replays the lifecycle events of an audit log into the state every key version should be in,
/// so a version whose state was edited in the database (a Disabled version set back to
/// DecryptOnly, say) is reported by verification as disagreeing with the signed history.
/// </summary>
/// <remarks>
/// Only successful events count. The state a transition reached is read from its details
/// (<c>From -> To</c>, written by Rekey; text after a <c>;</c> was once the reason and is ignored).
/// </remarks>
public sealed class AuditStateReplay
{
    private readonly Dictionary<string, Dictionary<int, KeyVersionState>> _keys = new(StringComparer.Ordinal);

    /// <summary>Applies the next event of the log.</summary>
    public void Add(AuditEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var r = e.Record;
        if (r.Outcome != "success" || r.Key is null)
        {
            return;
        }

        switch (r.Action)
        {
            case "key.create":
                _keys[r.Key] = new Dictionary<int, KeyVersionState> { [r.ToVersion ?? 1] = KeyVersionState.Active };
                break;
            case "key.delete":
                _keys.Remove(r.Key);
                break;
            case "key.rotate" or "key.import" when r.ToVersion is { } created:
                var versions = Versions(r.Key);
                if (r.Details?.StartsWith("pending", StringComparison.Ordinal) == true)
                {
                    versions[created] = KeyVersionState.Pending;
                }
                else
                {
                    Demote(versions);
                    versions[created] = KeyVersionState.Active;
                }

                break;
            case "version.retire_expire" when r.FromVersion is { } expired:
                Versions(r.Key)[expired] = KeyVersionState.Disabled;
                break;
            case var action when action.StartsWith("version.", StringComparison.Ordinal) && r.FromVersion is { } version && Reached(r.Details) is { } state:
                var all = Versions(r.Key);
                if (state == KeyVersionState.Active)
                {
                    Demote(all);
                }

                all[version] = state;
                break;
        }
    }

    /// <summary>The first version whose stored state differs from the replayed one, as a sentence; null when all agree.</summary>
    public string? Compare(KeyName key, IEnumerable<KeyVersionInfo> stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        _keys.TryGetValue(key.Value, out var expected);
        foreach (var version in stored)
        {
            if (expected is null || !expected.TryGetValue(version.Version, out var state))
            {
                return $"key '{key}' version {version.Version} is in the store but was never created according to the audit log";
            }

            if (state != version.State)
            {
                return $"key '{key}' version {version.Version} is {version.State} in the store but {state} according to the audit log: its state was edited outside Rekey";
            }
        }

        return null;
    }

    private Dictionary<int, KeyVersionState> Versions(string key)
    {
        if (!_keys.TryGetValue(key, out var versions))
        {
            _keys[key] = versions = [];
        }

        return versions;
    }

    private static void Demote(Dictionary<int, KeyVersionState> versions)
    {
        foreach (var (number, state) in versions)
        {
            if (state == KeyVersionState.Active)
            {
                versions[number] = KeyVersionState.DecryptOnly;
            }
        }
    }

    private static KeyVersionState? Reached(string? details)
    {
        if (details is null)
        {
            return null;
        }

        var end = details.IndexOf(';', StringComparison.Ordinal);
        var transition = end < 0 ? details : details[..end];
        var arrow = transition.IndexOf(" -> ", StringComparison.Ordinal);
        return arrow > 0 && Enum.TryParse<KeyVersionState>(transition[(arrow + 4)..], ignoreCase: false, out var state) ? state : null;
    }
}
