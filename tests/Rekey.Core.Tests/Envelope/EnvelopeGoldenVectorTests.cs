using System.Text;
using System.Text.Json;
using Rekey.Crypto;
using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Testing;

namespace Rekey.Core.Tests.Envelope;

/// <summary>
/// Format v1 is pinned by vectors made by an independent Python implementation of
/// docs/formats.md. These bytes must never change: stored data depends on them.
/// </summary>
public sealed class EnvelopeGoldenVectorTests
{
    public static TheoryData<string> Labels()
    {
        var data = new TheoryData<string>();
        foreach (var v in Load())
        {
            data.Add(v.GetProperty("label").GetString()!);
        }

        return data;
    }

    [Fact]
    public void VectorFile_IsPinned()
    {
        // Editing the vectors would hide a format change; their hash is fixed here on purpose.
        var bytes = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Vectors", "envelope-v1.json"));
        Assert.Equal("5e20579bff77b4757de7b7e8ed9814e62f62208323bcb802a9744633c806e62c", Hex.Of(System.Security.Cryptography.SHA256.HashData(bytes)));
    }

    [Theory]
    [MemberData(nameof(Labels))]
    public void Encrypt_WithVectorInputs_ProducesVectorBytes(string label)
    {
        var v = Find(label);
        using var kek = new AesKeyWrapPadded(Hex.Bytes(v.GetProperty("kek").GetString()!));
        var envelope = EnvelopeCipher.EncryptWith(
            kek,
            Encoding.ASCII.GetBytes(v.GetProperty("key").GetString()!),
            v.GetProperty("version").GetInt32(),
            Hex.Bytes(v.GetProperty("plaintext").GetString()!),
            EncryptionContext.From(v.GetProperty("context").GetString()!),
            Hex.Bytes(v.GetProperty("dek").GetString()!),
            Hex.Bytes(v.GetProperty("nonce").GetString()!));

        Assert.Equal(v.GetProperty("envelope").GetString(), Hex.Of(envelope));
        Assert.Equal(v.GetProperty("text").GetString(), EnvelopeText.Encode(envelope));
    }

    [Theory]
    [MemberData(nameof(Labels))]
    public void Decrypt_VectorText_GivesVectorPlaintext(string label)
    {
        var v = Find(label);
        using var kek = new AesKeyWrapPadded(Hex.Bytes(v.GetProperty("kek").GetString()!));
        var bytes = EnvelopeText.Decode(v.GetProperty("text").GetString()!);
        var header = EnvelopeReader.ReadHeader(bytes);
        Assert.Equal(KeyName.Parse(v.GetProperty("key").GetString()!), header.Key);
        Assert.Equal(v.GetProperty("version").GetInt32(), header.Version);

        var plaintext = EnvelopeCipher.Decrypt(kek, EnvelopeReader.Parse(bytes, out _), EncryptionContext.From(v.GetProperty("context").GetString()!));
        Assert.Equal(v.GetProperty("plaintext").GetString(), Hex.Of(plaintext));
    }

    [Theory]
    [MemberData(nameof(Labels))]
    public void Utf8Form_IsTheTextFormsBytes_BothWays(string label)
    {
        var text = Find(label).GetProperty("text").GetString()!;
        var envelope = EnvelopeText.Decode(text);
        var encoded = new byte[EnvelopeText.GetUtf8Length(envelope)];
        Assert.Equal(text.Length, EnvelopeText.EncodeToUtf8(envelope, encoded));
        Assert.Equal(Encoding.ASCII.GetBytes(text), encoded);
        Assert.Equal(text.Length, EnvelopeText.GetUtf8Length(envelope));

        var utf8 = Encoding.UTF8.GetBytes(text);
        var decoded = new byte[EnvelopeText.GetMaxDecodedLength(utf8.Length)];
        var written = EnvelopeText.DecodeFromUtf8(utf8, decoded);
        Assert.Equal(Hex.Of(envelope), Hex.Of(decoded.AsSpan(0, written)));
    }

    [Theory]
    [MemberData(nameof(Labels))]
    public void OtherSpellingsOfTheSameEnvelope_AreRefused(string label)
    {
        var text = Find(label).GetProperty("text").GetString()!;
        var colon = text.IndexOf(':', "rekey:v".Length);
        var spellings = new List<string>
        {
            " " + text,
            text + "\n",
            "rekey:v0" + text["rekey:v".Length..],
            text + "=",
            text + "==",
            text[..(colon + 5)] + " " + text[(colon + 5)..],
        };

        // The last character with a stray low bit that the decoder might ignore (only where the
        // last character carries fewer than 6 bits of data).
        var last = text[^1];
        var stray = last switch { 'A' => 'B', 'Q' => 'R', 'g' => 'h', 'w' => 'x', _ => last };
        if (stray != last && (text.Length - colon - 1) % 4 != 0)
        {
            spellings.Add(text[..^1] + stray);
        }

        foreach (var spelling in spellings)
        {
            Assert.Equal(RekeyErrorCode.DecryptionFailed, Assert.Throws<RekeyException>(() => EnvelopeText.Decode(spelling)).Code);
            var utf8 = Encoding.UTF8.GetBytes(spelling);
            Assert.Equal(RekeyErrorCode.DecryptionFailed, Assert.Throws<RekeyException>(() => EnvelopeText.DecodeFromUtf8(utf8, new byte[EnvelopeText.GetMaxDecodedLength(utf8.Length) + 8])).Code);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("rekey:v")]
    [InlineData("rekey:v1")]
    [InlineData("rekey:v1:")]
    [InlineData("rekey:v-1:UksB")]
    [InlineData("rekey:v+1:UksB")]
    [InlineData("rekey:vx:UksB")]
    [InlineData("rekey:v1:!!!!")]
    [InlineData("other:v1:UksB")]
    public void DecodeFromUtf8_Malformed_IsDecryptionFailed(string text)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        var e = Assert.Throws<RekeyException>(() => EnvelopeText.DecodeFromUtf8(utf8, new byte[EnvelopeText.GetMaxDecodedLength(utf8.Length) + 64]));
        Assert.Equal(RekeyErrorCode.DecryptionFailed, e.Code);
    }

    [Theory]
    [MemberData(nameof(Labels))]
    public void DecodeFromUtf8_VisibleVersionDisagrees_IsRejected(string label)
    {
        var text = Find(label).GetProperty("text").GetString()!;
        var utf8 = Encoding.ASCII.GetBytes("rekey:v99" + text[text.IndexOf(':', "rekey:v".Length)..]);
        var e = Assert.Throws<RekeyException>(() => EnvelopeText.DecodeFromUtf8(utf8, new byte[EnvelopeText.GetMaxDecodedLength(utf8.Length)]));
        Assert.Equal(RekeyErrorCode.DecryptionFailed, e.Code);
    }

    [Theory]
    [MemberData(nameof(Labels))]
    public void Decode_TextWhoseVisibleVersionDisagrees_IsRejected(string label)
    {
        var text = Find(label).GetProperty("text").GetString()!;
        var colon = text.IndexOf(':', "rekey:v".Length);
        var tampered = "rekey:v99" + text[colon..];
        var e = Assert.Throws<RekeyException>(() => EnvelopeText.Decode(tampered));
        Assert.Equal(RekeyErrorCode.DecryptionFailed, e.Code);
    }

    private static JsonElement Find(string label) => Load().Single(v => v.GetProperty("label").GetString() == label);

    private static List<JsonElement> Load()
    {
        var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Vectors", "envelope-v1.json")));
        return doc.RootElement.GetProperty("vectors").EnumerateArray().ToList();
    }
}
