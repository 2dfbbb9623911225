using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using AesNi = System.Runtime.Intrinsics.X86.Aes;

namespace Rekey.Crypto;

/// <summary>
/// Raw AES-256 single-block encryption and decryption on the AES-NI instructions, with the key
/// schedule expanded once. Exists only because key wrapping needs dozens of dependent block
/// operations per key, and the framework's one-shot APIs set up a cipher context for each.
/// </summary>
/// <remarks>
/// The rounds run in hardware (constant time). The expanded keys live in pinned arrays, so the
/// garbage collector never leaves copies behind, and are zeroed on <see cref="Dispose"/>.
/// Callers guarantee no use after dispose (see <see cref="AesKeyWrapPadded"/>).
/// </remarks>
internal sealed class Aes256NiBlockCipher : IDisposable
{
    private const int Rounds = 14;

    private readonly Vector128<byte>[] _encryptKeys = GC.AllocateArray<Vector128<byte>>(Rounds + 1, pinned: true);
    private readonly Vector128<byte>[] _decryptKeys = GC.AllocateArray<Vector128<byte>>(Rounds + 1, pinned: true);

    public Aes256NiBlockCipher(ReadOnlySpan<byte> key)
    {
        if (!IsSupported)
        {
            throw new PlatformNotSupportedException("AES-NI is not available on this processor.");
        }

        if (key.Length != 32)
        {
            throw new ArgumentException("AES-256 needs a 32-byte key.", nameof(key));
        }

        ExpandKey(key, _encryptKeys);
        _decryptKeys[0] = _encryptKeys[Rounds];
        for (var round = 1; round < Rounds; round++)
        {
            _decryptKeys[round] = AesNi.InverseMixColumns(_encryptKeys[Rounds - round]);
        }

        _decryptKeys[Rounds] = _encryptKeys[0];
    }

    public static bool IsSupported => AesNi.IsSupported && Sse2.IsSupported;

    public Vector128<byte> EncryptBlock(Vector128<byte> block)
    {
        var keys = _encryptKeys;
        block ^= keys[0];
        for (var round = 1; round < Rounds; round++)
        {
            block = AesNi.Encrypt(block, keys[round]);
        }

        return AesNi.EncryptLast(block, keys[Rounds]);
    }

    public Vector128<byte> DecryptBlock(Vector128<byte> block)
    {
        var keys = _decryptKeys;
        block ^= keys[0];
        for (var round = 1; round < Rounds; round++)
        {
            block = AesNi.Decrypt(block, keys[round]);
        }

        return AesNi.DecryptLast(block, keys[Rounds]);
    }

    public void Dispose()
    {
        Array.Clear(_encryptKeys);
        Array.Clear(_decryptKeys);
    }

    // FIPS 197 section 5.2 for Nk = 8, with KEYGENASSIST doing SubWord/RotWord. The immediate
    // operand must be a constant for the JIT, hence the unrolled round-constant calls.
    internal static void ExpandKey(ReadOnlySpan<byte> key, Span<Vector128<byte>> keys)
    {
        keys[0] = Vector128.Create(key[..16]);
        keys[1] = Vector128.Create(key[16..]);
        NextPair(keys, 2, AesNi.KeygenAssist(keys[1], 0x01));
        NextPair(keys, 4, AesNi.KeygenAssist(keys[3], 0x02));
        NextPair(keys, 6, AesNi.KeygenAssist(keys[5], 0x04));
        NextPair(keys, 8, AesNi.KeygenAssist(keys[7], 0x08));
        NextPair(keys, 10, AesNi.KeygenAssist(keys[9], 0x10));
        NextPair(keys, 12, AesNi.KeygenAssist(keys[11], 0x20));
        keys[14] = Mix(keys[12], Sse2.Shuffle(AesNi.KeygenAssist(keys[13], 0x40).AsUInt32(), 0xFF).AsByte());
    }

    private static void NextPair(Span<Vector128<byte>> keys, int index, Vector128<byte> assist)
    {
        keys[index] = Mix(keys[index - 2], Sse2.Shuffle(assist.AsUInt32(), 0xFF).AsByte());
        var subWord = Sse2.Shuffle(AesNi.KeygenAssist(keys[index], 0x00).AsUInt32(), 0xAA).AsByte();
        keys[index + 1] = Mix(keys[index - 1], subWord);
    }

    // Each word of the new round key is the previous word XOR the word four back: a running XOR
    // of the previous round key's words, then XOR the transformed word into all four.
    private static Vector128<byte> Mix(Vector128<byte> previous, Vector128<byte> transformed)
    {
        previous ^= Sse2.ShiftLeftLogical128BitLane(previous, 4);
        previous ^= Sse2.ShiftLeftLogical128BitLane(previous, 4);
        previous ^= Sse2.ShiftLeftLogical128BitLane(previous, 4);
        return previous ^ transformed;
    }
}
