using System.Security.Cryptography;
using Rekey.Crypto;

namespace Rekey.Core.Tests.Crypto;

/// <summary>
/// The AES-NI/PCLMULQDQ AES-256-GCM against the framework's <see cref="AesGcm"/> on random
/// inputs: every plaintext length through several blocks (whole, partial, empty) and long ones with associated
/// data of every length across two blocks, in both directions, and a tampered message refused.
/// The Wycheproof vectors (DataCipherWycheproofTests) run through the same path.
/// </summary>
public sealed class AesGcmNiTests
{
    [Fact]
    public void MatchesTheFramework_ForEveryLength_BothWays()
    {
        Assert.True(AesGcmNi.IsSupported, "This machine's processor has AES-NI and PCLMULQDQ; the hardware path must be tested here.");
        var random = new Random(20261201);
        foreach (var length in Enumerable.Range(0, 201).Concat([255, 256, 1023, 1024, 1025, 4095, 4096, 4097, 65_536 + 7]))
        {
            foreach (var aadLength in new[] { 0, 1, 15, 16, 17, 31, 32, 33, random.Next(0, 300) })
            {
                var key = RandomNumberGenerator.GetBytes(32);
                var nonce = RandomNumberGenerator.GetBytes(12);
                var plaintext = RandomNumberGenerator.GetBytes(length);
                var aad = RandomNumberGenerator.GetBytes(aadLength);

                var expectedCt = new byte[length];
                var expectedTag = new byte[16];
                using (var framework = new AesGcm(key, 16))
                {
                    framework.Encrypt(nonce, plaintext, expectedCt, expectedTag, aad);
                }

                var ct = new byte[length];
                var tag = new byte[16];
                AesGcmNi.Encrypt(key, nonce, plaintext, aad, ct, tag);
                Assert.True(expectedCt.AsSpan().SequenceEqual(ct), $"ciphertext differs at length {length}, aad {aadLength}");
                Assert.True(expectedTag.AsSpan().SequenceEqual(tag), $"tag differs at length {length}, aad {aadLength}");

                var opened = new byte[length];
                Assert.True(AesGcmNi.TryDecrypt(key, nonce, expectedCt, expectedTag, aad, opened));
                Assert.Equal(plaintext, opened);
            }
        }
    }

    [Fact]
    public void ATamperedMessage_IsRefused_AndNothingIsReleased()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var nonce = RandomNumberGenerator.GetBytes(12);
        var plaintext = RandomNumberGenerator.GetBytes(100);
        var aad = "context"u8.ToArray();
        var ct = new byte[100];
        var tag = new byte[16];
        AesGcmNi.Encrypt(key, nonce, plaintext, aad, ct, tag);

        foreach (var (c, t, a) in new[] { (Flip(ct, 57), tag, aad), (ct, Flip(tag, 0), aad), (ct, tag, "contexT"u8.ToArray()) })
        {
            var opened = Enumerable.Repeat((byte)0xAA, 100).ToArray();
            Assert.False(AesGcmNi.TryDecrypt(key, nonce, c, t, a, opened));
            Assert.All(opened, b => Assert.Equal(0, b));
        }

        static byte[] Flip(byte[] bytes, int at)
        {
            var copy = bytes.ToArray();
            copy[at] ^= 0x01;
            return copy;
        }
    }
}
