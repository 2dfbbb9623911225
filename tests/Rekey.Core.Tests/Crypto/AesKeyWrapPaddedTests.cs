using System.Security.Cryptography;
using Rekey.Crypto;
using Rekey.Testing;

namespace Rekey.Core.Tests.Crypto;

/// <summary>
/// Our RFC 5649 implementation against every Wycheproof AES-KWP case (256-bit keys apply; other
/// key sizes are refused), and against the framework's implementation on random inputs.
/// </summary>
public sealed class AesKeyWrapPaddedTests
{
    private static readonly IReadOnlyList<WycheproofCase> Cases = WycheproofVectors.Load("aes_kwp_test.json");

    [Fact]
    public void HardwarePath_IsInUseOnThisMachine() => Assert.True(Aes256NiBlockCipher.IsSupported, "AES-NI is expected on the CI machine; the benchmark figures assume it.");

    [Fact]
    public void ApplicableVectors_GiveTheExpectedResult()
    {
        var applicable = Cases.Where(c => c.KeySize == 256).ToList();
        Assert.Equal(94, applicable.Count);
        var failures = new List<string>();
        foreach (var c in applicable)
        {
            using var kwp = new AesKeyWrapPadded(Hex.Bytes(c.Key));
            var ct = Hex.Bytes(c.Ct);
            var msg = Hex.Bytes(c.Msg);
            var output = new byte[AesKeyWrapPadded.MaxPlaintextLength];
            var opened = kwp.TryUnwrap(ct, output, out var written);
            var expectValid = c.Result == "valid";
            if (opened != expectValid || (opened && !output.AsSpan(0, written).SequenceEqual(msg)))
            {
                failures.Add($"unwrap {c}");
            }

            if (expectValid)
            {
                var wrapped = new byte[AesKeyWrapPadded.GetWrappedLength(msg.Length)];
                kwp.Wrap(msg, wrapped);
                if (!wrapped.AsSpan().SequenceEqual(ct))
                {
                    failures.Add($"wrap {c}");
                }
            }
        }

        Assert.Empty(failures);
    }

    [Fact]
    public void OtherKeySizes_AreRefused()
    {
        var inapplicable = Cases.Where(c => c.KeySize != 256).ToList();
        Assert.Equal(160, inapplicable.Count);
        Assert.All(inapplicable, c => Assert.Throws<ArgumentException>(() => new AesKeyWrapPadded(Hex.Bytes(c.Key))));
    }

    [Fact]
    public void FrameworkImplementation_AgreesWithEveryVector()
    {
        // The oracle we cross-check against must itself be right.
        foreach (var c in Cases)
        {
            using var aes = Aes.Create();
            aes.Key = Hex.Bytes(c.Key);
            bool opened;
            byte[] plain = [];
            try
            {
                plain = aes.DecryptKeyWrapPadded(Hex.Bytes(c.Ct));
                opened = true;
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                opened = false;
            }

            Assert.True(opened == (c.Result == "valid"), c.ToString());
            if (opened)
            {
                Assert.Equal(Hex.Bytes(c.Msg), plain);
            }
        }
    }

    [Fact]
    public void Wrap_MatchesFramework_ForRandomKeysAndLengths()
    {
        var random = new Random(5649);
        for (var i = 0; i < 500; i++)
        {
            var key = new byte[32];
            random.NextBytes(key);
            var plaintext = new byte[random.Next(1, 300)];
            random.NextBytes(plaintext);
            using var aes = Aes.Create();
            aes.Key = key;
            using var kwp = new AesKeyWrapPadded(key);
            var ours = new byte[AesKeyWrapPadded.GetWrappedLength(plaintext.Length)];
            kwp.Wrap(plaintext, ours);
            Assert.Equal(aes.EncryptKeyWrapPadded(plaintext), ours);
            var back = new byte[plaintext.Length];
            Assert.True(kwp.TryUnwrap(ours, back, out var written));
            Assert.Equal(plaintext.Length, written);
            Assert.Equal(plaintext, back);
        }
    }

    [Fact]
    public void TryUnwrap_UnderAnotherKey_Fails()
    {
        using var a = new AesKeyWrapPadded(RandomNumberGenerator.GetBytes(32));
        using var b = new AesKeyWrapPadded(RandomNumberGenerator.GetBytes(32));
        var wrapped = new byte[40];
        a.Wrap(RandomNumberGenerator.GetBytes(32), wrapped);
        var output = new byte[32];
        Assert.False(b.TryUnwrap(wrapped, output, out var written));
        Assert.Equal(0, written);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(8)]
    [InlineData(15)]
    [InlineData(41)]
    public void TryUnwrap_WithBadLength_Fails(int length)
    {
        using var kwp = new AesKeyWrapPadded(new byte[32]);
        Assert.False(kwp.TryUnwrap(new byte[length], new byte[64], out _));
    }

    [Fact]
    public void Wrap_AfterDispose_Throws()
    {
        var kwp = new AesKeyWrapPadded(new byte[32]);
        kwp.Dispose();
        Assert.Throws<ObjectDisposedException>(() => kwp.Wrap(new byte[32], new byte[40]));
    }
}
