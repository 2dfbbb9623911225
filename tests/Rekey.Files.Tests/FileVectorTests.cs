using System.Security.Cryptography;
using System.Text.Json;
using Rekey.Files;

namespace Rekey.Files.Tests;

/// <summary>
/// The format against vectors computed apart from this code (tests/vectors/files/generate.py, with
/// Python's cryptography package, from docs/formats.md): key derivation, segments and a header slot.
/// </summary>
public sealed class FileVectorTests
{
    private static readonly JsonElement Vectors = JsonDocument.Parse(File.ReadAllText(Path.Combine(Testing.RepositoryPaths.Vectors, "files", "rekey-file-v1.json"))).RootElement;

    [Fact]
    public void SegmentKey_IsHkdfOfTheDataKey_SaltedAndBoundToThePrefix()
    {
        var prefix = new byte[FileLayout.PrefixSize];
        FileLayout.WritePrefix(prefix, Hex("salt"));
        Assert.Equal(Hex("prefix"), prefix);
        var key = new byte[32];
        FileLayout.DeriveSegmentKey(Hex("data_key"), prefix, key);
        Assert.Equal(Hex("segment_key"), key);
    }

    [Fact]
    public async Task Segments_MatchTheVectors_AndDecryptBack()
    {
        foreach (var vector in Vectors.GetProperty("cases").EnumerateArray())
        {
            var length = vector.GetProperty("plaintext_length").GetInt32();
            var plaintext = Enumerable.Range(0, length).Select(i => (byte)(i % 251)).ToArray();
            using var sealedData = new MemoryStream();
            await using (var encryptor = new FileEncryptingStream(sealedData, Hex("segment_key"), leaveOpen: true))
            {
                await encryptor.WriteAsync(plaintext);
            }

            var data = sealedData.ToArray();
            Assert.Equal(vector.GetProperty("data_length").GetInt32(), data.Length);
            Assert.Equal(vector.GetProperty("data_sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(data)));
            if (vector.TryGetProperty("data", out var hex))
            {
                Assert.Equal(hex.GetString(), Convert.ToHexStringLower(data));
            }

            await using var decryptor = new FileDecryptingStream(new MemoryStream(data), Hex("segment_key"), leaveOpen: false);
            using var output = new MemoryStream();
            await decryptor.CopyToAsync(output);
            Assert.Equal(plaintext, output.ToArray());
        }
    }

    [Fact]
    public void HeaderSlot_MatchesTheVector_AndReadsBack()
    {
        var slotVector = Vectors.GetProperty("slot");
        var slot = new byte[FileLayout.SlotSize];
        FileLayout.WriteSlot(slot, 1, Convert.FromHexString(slotVector.GetProperty("envelope").GetString()!));
        Assert.Equal(slotVector.GetProperty("bytes").GetString(), Convert.ToHexStringLower(slot));
        Assert.True(FileLayout.TryReadSlot(slot, out var sequence, out var envelope));
        Assert.Equal((1UL, slotVector.GetProperty("envelope").GetString()), (sequence, Convert.ToHexStringLower(envelope)));
    }

    private static byte[] Hex(string name) => Convert.FromHexString(Vectors.GetProperty(name).GetString()!);
}
