using System.Security.Cryptography;
using System.Text;
using Rekey.Crypto;
using Rekey.Envelope;

namespace Rekey.Core.Tests.Envelope;

/// <summary>Vault's spelling of an envelope: the allocation-free encoder agrees with the string one, and the decoder takes back exactly what they write.</summary>
public sealed class VaultCiphertextTests
{
    [Fact]
    public void EncodeToUtf8_WritesWhatEncodeWrites_AndTryDecodeTakesItBack()
    {
        using var kek = new AesKeyWrapPadded(RandomNumberGenerator.GetBytes(32));
        foreach (var (version, length) in new[] { (1, 0), (9, 1), (10, 2), (12345, 300) })
        {
            var envelope = EnvelopeCipher.Encrypt(kek, "orders"u8, version, RandomNumberGenerator.GetBytes(length), EncryptionContext.From("c"));
            var text = VaultCiphertext.Encode(envelope);
            var utf8 = new byte[VaultCiphertext.GetUtf8Length(envelope)];
            var written = VaultCiphertext.EncodeToUtf8(envelope, utf8);
            Assert.Equal(text, Encoding.ASCII.GetString(utf8, 0, written));
            Assert.StartsWith($"vault:v{version}:", text, StringComparison.Ordinal);
            Assert.Equal(envelope, VaultCiphertext.TryDecode(text, out var problem));
            Assert.Null(problem);
        }
    }

    [Theory]
    [InlineData("rekey:v1:AAAA", "no prefix")]
    [InlineData("vault:v0:AAAA", "not a positive number")]
    [InlineData("vault:vx:AAAA", "not a positive number")]
    [InlineData("vault:v1:AAA", "not standard base64")]
    [InlineData("vault:v1:A A=", "not standard base64")]
    [InlineData("vault:v1:AAAA", "not a Rekey envelope")]
    public void TryDecode_RefusesWhatIsNotOne_WithAReason(string text, string reason)
    {
        Assert.Null(VaultCiphertext.TryDecode(text, out var problem));
        Assert.Contains(reason, problem, StringComparison.Ordinal);
    }
}
