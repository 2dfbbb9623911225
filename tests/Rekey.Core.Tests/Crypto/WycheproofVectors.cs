using System.Text.Json;
using Rekey.Testing;

namespace Rekey.Core.Tests.Crypto;

internal sealed record WycheproofCase(int TcId, string Comment, int KeySize, int IvSize, int TagSize, string Key, string Iv, string Aad, string Msg, string Ct, string Tag, string Result)
{
    public override string ToString() => $"tc{TcId} key{KeySize} iv{IvSize} {Result} {Comment}";
}

internal static class WycheproofVectors
{
    public static IReadOnlyList<WycheproofCase> Load(string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Vectors, "wycheproof", file)));
        var cases = new List<WycheproofCase>();
        foreach (var group in doc.RootElement.GetProperty("testGroups").EnumerateArray())
        {
            var keySize = group.GetProperty("keySize").GetInt32();
            var ivSize = group.TryGetProperty("ivSize", out var iv) ? iv.GetInt32() : 0;
            var tagSize = group.TryGetProperty("tagSize", out var tag) ? tag.GetInt32() : 0;
            foreach (var t in group.GetProperty("tests").EnumerateArray())
            {
                cases.Add(new WycheproofCase(
                    t.GetProperty("tcId").GetInt32(),
                    t.GetProperty("comment").GetString() ?? string.Empty,
                    keySize,
                    ivSize,
                    tagSize,
                    t.GetProperty("key").GetString()!,
                    Str(t, "iv"),
                    Str(t, "aad"),
                    Str(t, "msg"),
                    Str(t, "ct"),
                    Str(t, "tag"),
                    t.GetProperty("result").GetString()!));
            }
        }

        return cases;
    }

    private static string Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetString() ?? string.Empty : string.Empty;
}
