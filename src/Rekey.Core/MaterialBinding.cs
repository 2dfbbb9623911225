using System.Text;
using Rekey.Keys;

namespace Rekey;

/// <summary>The associated data that binds wrapped material to its key and version.</summary>
internal static class MaterialBinding
{
    public static byte[] For(KeyName key, int version) =>
        Encoding.ASCII.GetBytes(FormattableString.Invariant($"rekey/kek/v1\0{key.Value}\0{version}"));
}
