using System.Security.Cryptography;
using System.Text;
using Rekey.Crypto;
using Rekey.Envelope;
using Rekey.Errors;

namespace Rekey.Core.Tests.Envelope;

/// <summary>Every malformation, truncation, bit flip or wrong context is the one decryption error.</summary>
public sealed class EnvelopeTamperTests : IDisposable
{
    private static readonly EncryptionContext Context = EncryptionContext.From("tenant=h42;table=patients;id=17");
    private readonly AesKeyWrapPadded _kek = new(RandomNumberGenerator.GetBytes(32));
    private readonly byte[] _name = Encoding.ASCII.GetBytes("tenants/h42/patients");
    private readonly byte[] _plaintext = Encoding.UTF8.GetBytes("a record of some length, 40 bytes long.");

    [Fact]
    public void Decrypt_Untouched_GivesPlaintext()
    {
        var envelope = EnvelopeCipher.Encrypt(_kek, _name, 1, _plaintext, Context);
        Assert.Equal(_plaintext, Decrypt(envelope, Context));
    }

    [Fact]
    public void Decrypt_EverySingleBitFlipOutsideTheVersion_FailsWithOneError()
    {
        // The version is not authenticated here by design (a re-wrap changes it without touching
        // the data); it selects the KEK, so a flipped version fails in RekeyService, where the
        // every-bit test includes it.
        var envelope = EnvelopeCipher.Encrypt(_kek, _name, 1, _plaintext, Context);
        var versionBits = Enumerable.Range((5 + _name.Length) * 8, 32).ToHashSet();
        for (var bit = 0; bit < envelope.Length * 8; bit++)
        {
            if (versionBits.Contains(bit))
            {
                continue;
            }

            var tampered = (byte[])envelope.Clone();
            tampered[bit / 8] ^= (byte)(1 << (bit % 8));
            AssertDecryptionFailed(() => Decrypt(tampered, Context));
        }
    }

    [Fact]
    public void Decrypt_EveryTruncation_FailsWithOneError()
    {
        var envelope = EnvelopeCipher.Encrypt(_kek, _name, 1, _plaintext, Context);
        for (var length = 0; length < envelope.Length; length++)
        {
            var truncated = envelope[..length];
            AssertDecryptionFailed(() => Decrypt(truncated, Context));
        }
    }

    [Fact]
    public void Decrypt_WithAppendedBytes_Fails()
    {
        var envelope = EnvelopeCipher.Encrypt(_kek, _name, 1, _plaintext, Context);
        AssertDecryptionFailed(() => Decrypt([.. envelope, 0], Context));
    }

    [Fact]
    public void Decrypt_WithWrongContext_Fails()
    {
        var envelope = EnvelopeCipher.Encrypt(_kek, _name, 1, _plaintext, Context);
        AssertDecryptionFailed(() => Decrypt(envelope, EncryptionContext.From("tenant=h42;table=patients;id=18")));
    }

    [Fact]
    public void Decrypt_UnderAnotherKek_Fails()
    {
        var envelope = EnvelopeCipher.Encrypt(_kek, _name, 1, _plaintext, Context);
        using var other = new AesKeyWrapPadded(RandomNumberGenerator.GetBytes(32));
        var e = Assert.Throws<RekeyException>(() => EnvelopeCipher.Decrypt(other, EnvelopeReader.Parse(envelope, out _), Context));
        Assert.Equal(RekeyErrorCode.DecryptionFailed, e.Code);
    }

    [Fact]
    public void Decrypt_WithKeyNameChangedInHeader_Fails()
    {
        // The same KEK under another name: the name is bound into the data's associated data.
        var envelope = EnvelopeCipher.Encrypt(_kek, _name, 1, _plaintext, Context);
        var moved = (byte[])envelope.Clone();
        moved[5 + _name.Length - 1] = (byte)'z';
        AssertDecryptionFailed(() => Decrypt(moved, Context));
    }

    [Fact]
    public void Rewrap_ChangesOnlyVersionAndWrappedKey()
    {
        var envelope = EnvelopeCipher.Encrypt(_kek, _name, 1, _plaintext, Context);
        using var next = new AesKeyWrapPadded(RandomNumberGenerator.GetBytes(32));
        var rewrapped = EnvelopeCipher.Rewrap(_kek, next, EnvelopeReader.Parse(envelope, out _), 2);

        var layout = EnvelopeReader.Parse(rewrapped, out _);
        Assert.Equal(2, layout.Version);
        var headerEnd = 5 + _name.Length;
        Assert.Equal(envelope[..headerEnd], rewrapped[..headerEnd]);
        var dataStart = layout.WrappedKeyOffset + 40;
        Assert.Equal(envelope[dataStart..], rewrapped[dataStart..]);
        Assert.NotEqual(envelope[layout.WrappedKeyOffset..dataStart], rewrapped[layout.WrappedKeyOffset..dataStart]);
        Assert.Equal(_plaintext, EnvelopeCipher.Decrypt(next, layout, Context));
    }

    [Fact]
    public void Encrypt_TwiceWithSameInputs_GivesDifferentCiphertexts()
    {
        var a = EnvelopeCipher.Encrypt(_kek, _name, 1, _plaintext, Context);
        var b = EnvelopeCipher.Encrypt(_kek, _name, 1, _plaintext, Context);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void DecryptionError_SaysNothingMore()
    {
        var e = Assert.Throws<RekeyException>(() => Decrypt([1, 2, 3], Context));
        Assert.Equal("The ciphertext could not be decrypted.", e.Message);
        Assert.Null(e.InnerException);
    }

    public void Dispose() => _kek.Dispose();

    private byte[] Decrypt(byte[] envelope, EncryptionContext context) =>
        EnvelopeCipher.Decrypt(_kek, EnvelopeReader.Parse(envelope, out _), context);

    private static void AssertDecryptionFailed(Action action)
    {
        var e = Assert.Throws<RekeyException>(action);
        Assert.Equal(RekeyErrorCode.DecryptionFailed, e.Code);
    }
}
