using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Rekey.Approvals;

/// <summary>
/// One operation exactly as it will run: what, on which key and version, with which fields. Its
/// <see cref="Hash"/> is what approvers approve, so an approval for one operation can never run
/// another (another version, another key, other fields).
/// </summary>
/// <param name="Operation">One of <see cref="ApprovalOperations"/>.</param>
/// <param name="Key">The key, or the policy's pattern; null for store-wide operations.</param>
/// <param name="Version">The version, for operations on one version.</param>
/// <param name="Fields">Everything else the operation takes (a policy's document, a token's roles), as text.</param>
public sealed record ApprovalRequest(string Operation, string? Key, int? Version, IReadOnlyDictionary<string, string> Fields)
{
    /// <summary>An operation with no fields beyond key and version.</summary>
    public static ApprovalRequest For(string operation, string? key, int? version = null) =>
        new(operation, key, version, new SortedDictionary<string, string>(StringComparer.Ordinal));

    /// <summary>The same request with one more field.</summary>
    public ApprovalRequest With(string field, string value)
    {
        var fields = new SortedDictionary<string, string>(Fields.ToDictionary(), StringComparer.Ordinal) { [field] = value };
        return this with { Fields = fields };
    }

    /// <summary>
    /// The canonical form: a JSON object with <c>operation</c>, <c>key</c>, <c>version</c> and
    /// <c>fields</c> (sorted by name, ordinal), no whitespace; the same request always gives the same text.
    /// </summary>
    public string Canonical()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("operation", Operation);
            if (Key is null)
            {
                json.WriteNull("key");
            }
            else
            {
                json.WriteString("key", Key);
            }

            if (Version is { } version)
            {
                json.WriteNumber("version", version);
            }
            else
            {
                json.WriteNull("version");
            }

            json.WriteStartObject("fields");
            foreach (var (name, value) in Fields.OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                json.WriteString(name, value);
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>SHA-256 of <see cref="Canonical"/>, in lowercase hex.</summary>
    public string Hash() => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Canonical())));

    /// <summary>A line for people: <c>destroy tenants/a version 3 (force=true)</c>.</summary>
    public override string ToString()
    {
        var text = new StringBuilder(Operation);
        if (Key is not null)
        {
            text.Append(' ').Append(Key);
        }

        if (Version is { } version)
        {
            text.Append(CultureInfo.InvariantCulture, $" version {version}");
        }

        if (Fields.Count > 0)
        {
            text.Append(" (").AppendJoin(", ", Fields.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => f.Key + "=" + f.Value)).Append(')');
        }

        return text.ToString();
    }
}
