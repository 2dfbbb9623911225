using System.Text;
using Rekey.Keys;

namespace Rekey.Root;

/// <summary>
/// The associated data each kind of root-wrapped secret is bound to, so wrapped bytes copied into
/// another slot (another key version, another signing key, another data source) do not unwrap.
/// Root migration re-wraps each secret under the same binding it was wrapped with.
/// </summary>
public static class RootBindings
{
    /// <summary>A key version's material (its KEK).</summary>
    public static byte[] ForKeyVersion(KeyName key, int version) =>
        Encoding.ASCII.GetBytes(FormattableString.Invariant($"rekey/kek/v1\0{key.Value}\0{version}"));

    /// <summary>An audit-signing private key, by its key id.</summary>
    public static byte[] ForSigningKey(string keyId) => Encoding.ASCII.GetBytes("rekey/audit-signing/v1\0" + keyId);

    /// <summary>A registered data source's connection string, by the source's name.</summary>
    public static byte[] ForDataSource(string name) => Encoding.UTF8.GetBytes("rekey/data-source/v1\0" + name);

    /// <summary>An import token's RSA private key, by the token.</summary>
    public static byte[] ForImportToken(string token) => Encoding.ASCII.GetBytes("rekey/import-token/v1\0" + token);
}
