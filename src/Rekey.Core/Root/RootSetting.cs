using Rekey.Errors;

namespace Rekey.Root;

/// <summary>
/// The fields of a root setting written <c>scheme:name=value;name=value</c>, as the PKCS#11 and
/// AWS KMS roots are configured: each name known, none given twice.
/// </summary>
public static class RootSetting
{
    /// <summary>
    /// The fields of <paramref name="setting"/>; <c>InvalidRequest</c> with <paramref name="usage"/>
    /// when it does not start with <paramref name="scheme"/>, or naming an unknown or repeated field.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Fields(string setting, string scheme, string usage, params string[] names)
    {
        ArgumentNullException.ThrowIfNull(setting);
        ArgumentNullException.ThrowIfNull(names);
        if (!setting.StartsWith(scheme, StringComparison.Ordinal))
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, usage);
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in setting[scheme.Length..].Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                // Not echoed: a part without a name could be a PIN or a secret pasted in by mistake.
                throw new RekeyException(RekeyErrorCode.InvalidRequest, $"Every part of a root setting is name=value. {usage}");
            }

            var name = part[..equals];
            if (!names.Contains(name, StringComparer.Ordinal) || !fields.TryAdd(name, part[(equals + 1)..]))
            {
                throw new RekeyException(RekeyErrorCode.InvalidRequest, $"'{name}' is not a setting of this root ({string.Join(", ", names)}), or it is given twice. {usage}");
            }
        }

        return fields;
    }
}
