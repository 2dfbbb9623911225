using Rekey.Crypto;
using Rekey.Testing;

namespace Rekey.Core.Tests.Crypto;

/// <summary>Every Wycheproof AES-GCM case: 96-bit-nonce groups give the expected result, the rest are refused.</summary>
public sealed class DataCipherWycheproofTests
{
    private static readonly IReadOnlyList<WycheproofCase> Cases = WycheproofVectors.Load("aes_gcm_test.json");

    [Fact]
    public void Vectors_AreAllPresent() => Assert.Equal(316, Cases.Count);

    [Fact]
    public void ApplicableVectors_GiveTheExpectedResult()
    {
        var applicable = Cases.Where(c => c.IvSize == 96 && c.TagSize == 128).ToList();
        Assert.Equal(197, applicable.Count);
        var failures = new List<string>();
        foreach (var c in applicable)
        {
            var key = Hex.Bytes(c.Key);
            var nonce = Hex.Bytes(c.Iv);
            var aad = Hex.Bytes(c.Aad);
            var msg = Hex.Bytes(c.Msg);
            var ct = Hex.Bytes(c.Ct);
            var tag = Hex.Bytes(c.Tag);

            var plaintext = new byte[ct.Length];
            var opened = DataCipher.TryDecrypt(key, nonce, ct, tag, aad, plaintext);
            var expectValid = c.Result == "valid";
            if (opened != expectValid || (opened && !plaintext.AsSpan().SequenceEqual(msg)))
            {
                failures.Add($"decrypt {c}");
            }

            if (expectValid)
            {
                var sealedCt = new byte[msg.Length];
                var sealedTag = new byte[16];
                DataCipher.Encrypt(key, nonce, msg, aad, sealedCt, sealedTag);
                if (!sealedCt.AsSpan().SequenceEqual(ct) || !sealedTag.AsSpan().SequenceEqual(tag))
                {
                    failures.Add($"encrypt {c}");
                }
            }
        }

        Assert.Empty(failures);
    }

    [Fact]
    public void InapplicableVectors_AreRefused()
    {
        var inapplicable = Cases.Where(c => c.IvSize != 96).ToList();
        Assert.Equal(119, inapplicable.Count);
        foreach (var c in inapplicable)
        {
            var ct = Hex.Bytes(c.Ct);
            Assert.Throws<ArgumentException>(() => DataCipher.TryDecrypt(Hex.Bytes(c.Key), Hex.Bytes(c.Iv), ct, Hex.Bytes(c.Tag), Hex.Bytes(c.Aad), new byte[ct.Length]));
            Assert.Throws<ArgumentException>(() => DataCipher.Encrypt(Hex.Bytes(c.Key), Hex.Bytes(c.Iv), Hex.Bytes(c.Msg), Hex.Bytes(c.Aad), new byte[c.Msg.Length / 2], new byte[16]));
        }
    }

    [Theory]
    [InlineData(15)]
    [InlineData(33)]
    public void Encrypt_WithWrongKeySize_Throws(int keySize) =>
        Assert.Throws<ArgumentException>(() => DataCipher.Encrypt(new byte[keySize], new byte[12], [1], [], new byte[1], new byte[16]));

    [Fact]
    public void Encrypt_WithShortTag_Throws() =>
        Assert.Throws<ArgumentException>(() => DataCipher.Encrypt(new byte[32], new byte[12], [1], [], new byte[1], new byte[12]));
}
