using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Security.Cryptography;
using AesNi = System.Runtime.Intrinsics.X86.Aes;

namespace Rekey.Crypto;

/// <summary>
/// AES-256-GCM (NIST SP 800-38D, 96-bit nonces, 128-bit tags) on AES-NI and PCLMULQDQ, for
/// envelopes' data: every envelope has a fresh data key, and the framework's
/// <see cref="AesGcm"/> pays for a new OpenSSL cipher context per key, which costs more than
/// sealing a few hundred bytes. Here the key schedule lives on the stack and is wiped after use.
/// </summary>
/// <remarks>
/// Checked against every applicable Wycheproof AES-GCM vector and against <see cref="AesGcm"/>
/// on random inputs of every length up to several blocks, in both directions. The framework
/// path stays available (<see cref="DataCipher.UseFrameworkSwitch"/>) and is used on processors
/// without these instructions. GHASH multiplies in GF(2^128) on byte-reflected operands with
/// the shift-and-reduce method Intel published for PCLMULQDQ.
/// </remarks>
internal static class AesGcmNi
{
    private const int Rounds = 14;

    /// <summary>Whether this processor has the instructions.</summary>
    public static bool IsSupported => AesNi.IsSupported && Pclmulqdq.IsSupported && Ssse3.IsSupported && Sse2.IsSupported;

    private static Vector128<byte> ReverseMask => Vector128.Create((byte)15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);

    /// <summary>Seals <paramref name="plaintext"/> into <paramref name="ciphertext"/> (same length) and <paramref name="tag"/> (16 bytes).</summary>
    public static void Encrypt(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> ciphertext, Span<byte> tag)
    {
        Span<Vector128<byte>> keys = stackalloc Vector128<byte>[Rounds + 1];
        try
        {
            Aes256NiBlockCipher.ExpandKey(key, keys);
            var j0 = CounterBlock(nonce, 1);
            Ctr(keys, nonce, plaintext, ciphertext);
            var s = Ghash(keys, associatedData, ciphertext);
            (EncryptBlock(keys, j0) ^ s).CopyTo(tag);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(keys));
        }
    }

    /// <summary>Opens a sealed message; false (and <paramref name="plaintext"/> zeroed) when the tag does not match.</summary>
    public static bool TryDecrypt(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, ReadOnlySpan<byte> associatedData, Span<byte> plaintext)
    {
        Span<Vector128<byte>> keys = stackalloc Vector128<byte>[Rounds + 1];
        Span<byte> expected = stackalloc byte[16];
        try
        {
            Aes256NiBlockCipher.ExpandKey(key, keys);
            var s = Ghash(keys, associatedData, ciphertext);
            (EncryptBlock(keys, CounterBlock(nonce, 1)) ^ s).CopyTo(expected);
            if (!CryptographicOperations.FixedTimeEquals(expected, tag))
            {
                CryptographicOperations.ZeroMemory(plaintext);
                return false;
            }

            Ctr(keys, nonce, ciphertext, plaintext);
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(keys));
        }
    }

    // CTR mode from counter 2 (counter 1 is J0, kept for the tag); four blocks at a time so the
    // AES units overlap their work. The counter block is kept byte-reversed, where the 32-bit
    // big-endian counter is the first little-endian lane, so the next block is one vector add.
    private static void Ctr(ReadOnlySpan<Vector128<byte>> keys, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> input, Span<byte> output)
    {
        var reversed = Ssse3.Shuffle(CounterBlock(nonce, 2), ReverseMask).AsUInt32();
        var one = Vector128.Create(1u, 0, 0, 0);
        var offset = 0;
        while (input.Length - offset >= 64)
        {
            var c0 = reversed;
            var c1 = c0 + one;
            var c2 = c1 + one;
            var c3 = c2 + one;
            reversed = c3 + one;
            var (k0, k1, k2, k3) = EncryptBlocks(keys, Forward(c0), Forward(c1), Forward(c2), Forward(c3));
            (Vector128.Create(input.Slice(offset, 16)) ^ k0).CopyTo(output.Slice(offset, 16));
            (Vector128.Create(input.Slice(offset + 16, 16)) ^ k1).CopyTo(output.Slice(offset + 16, 16));
            (Vector128.Create(input.Slice(offset + 32, 16)) ^ k2).CopyTo(output.Slice(offset + 32, 16));
            (Vector128.Create(input.Slice(offset + 48, 16)) ^ k3).CopyTo(output.Slice(offset + 48, 16));
            offset += 64;
        }

        while (input.Length - offset >= 16)
        {
            (Vector128.Create(input.Slice(offset, 16)) ^ EncryptBlock(keys, Forward(reversed))).CopyTo(output.Slice(offset, 16));
            reversed += one;
            offset += 16;
        }

        if (offset < input.Length)
        {
            Span<byte> stream = stackalloc byte[16];
            EncryptBlock(keys, Forward(reversed)).CopyTo(stream);
            for (var i = offset; i < input.Length; i++)
            {
                output[i] = (byte)(input[i] ^ stream[i - offset]);
            }

            CryptographicOperations.ZeroMemory(stream);
        }

        static Vector128<byte> Forward(Vector128<uint> reversedBlock) => Ssse3.Shuffle(reversedBlock.AsByte(), ReverseMask);
    }

    // GHASH over the associated data, the ciphertext and their bit lengths, returned in the
    // block's own byte order.
    private static Vector128<byte> Ghash(ReadOnlySpan<Vector128<byte>> keys, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertext)
    {
        var h = Ssse3.Shuffle(EncryptBlock(keys, Vector128<byte>.Zero), ReverseMask);
        Span<Vector128<byte>> powers = stackalloc Vector128<byte>[4];
        powers[0] = h;
        powers[1] = Multiply(h, h);
        powers[2] = Multiply(powers[1], h);
        powers[3] = Multiply(powers[2], h);
        try
        {
            var x = Vector128<byte>.Zero;
            x = Absorb(x, powers, associatedData);
            x = Absorb(x, powers, ciphertext);
            Span<byte> lengths = stackalloc byte[16];
            BinaryPrimitives.WriteUInt64BigEndian(lengths, (ulong)associatedData.Length * 8);
            BinaryPrimitives.WriteUInt64BigEndian(lengths[8..], (ulong)ciphertext.Length * 8);
            x = Multiply(x ^ Ssse3.Shuffle(Vector128.Create((ReadOnlySpan<byte>)lengths), ReverseMask), h);
            return Ssse3.Shuffle(x, ReverseMask);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(powers));
        }
    }

    // Four blocks per reduction: X' = (X + B0)H^4 + B1 H^3 + B2 H^2 + B3 H, the four products
    // summed before one shift and reduction (both are linear, so the sum reduces to the same value).
    private static Vector128<byte> Absorb(Vector128<byte> x, ReadOnlySpan<Vector128<byte>> powers, ReadOnlySpan<byte> data)
    {
        var offset = 0;
        for (; data.Length - offset >= 64; offset += 64)
        {
            var (low, high) = Product(x ^ Block(data, offset), powers[3]);
            var (low1, high1) = Product(Block(data, offset + 16), powers[2]);
            var (low2, high2) = Product(Block(data, offset + 32), powers[1]);
            var (low3, high3) = Product(Block(data, offset + 48), powers[0]);
            x = Reduce(low ^ low1 ^ low2 ^ low3, high ^ high1 ^ high2 ^ high3);
        }

        for (; data.Length - offset >= 16; offset += 16)
        {
            x = Multiply(x ^ Block(data, offset), powers[0]);
        }

        if (offset < data.Length)
        {
            Span<byte> last = stackalloc byte[16];
            last.Clear();
            data[offset..].CopyTo(last);
            x = Multiply(x ^ Ssse3.Shuffle(Vector128.Create((ReadOnlySpan<byte>)last), ReverseMask), powers[0]);
            CryptographicOperations.ZeroMemory(last);
        }

        return x;
    }

    // A whole block of data, byte-reflected for the multiplication.
    private static Vector128<byte> Block(ReadOnlySpan<byte> data, int offset) => Ssse3.Shuffle(Vector128.Create(data.Slice(offset, 16)), ReverseMask);

    // a * b in GCM's field, both operands and the result byte-reflected: a 256-bit carry-less
    // product, shifted left one bit (the bit order is reflected), then reduced modulo
    // x^128 + x^7 + x^2 + x + 1.
    private static Vector128<byte> Multiply(Vector128<byte> a, Vector128<byte> b)
    {
        var (low, high) = Product(a, b);
        return Reduce(low, high);
    }

    // The 256-bit carry-less product high:low of two 128-bit operands.
    private static (Vector128<uint> Low, Vector128<uint> High) Product(Vector128<byte> a, Vector128<byte> b)
    {
        var a64 = a.AsUInt64();
        var b64 = b.AsUInt64();
        var low = Pclmulqdq.CarrylessMultiply(a64, b64, 0x00).AsUInt32();
        var middle = (Pclmulqdq.CarrylessMultiply(a64, b64, 0x10) ^ Pclmulqdq.CarrylessMultiply(a64, b64, 0x01)).AsByte();
        var high = Pclmulqdq.CarrylessMultiply(a64, b64, 0x11).AsUInt32();
        low ^= Sse2.ShiftLeftLogical128BitLane(middle, 8).AsUInt32();
        high ^= Sse2.ShiftRightLogical128BitLane(middle, 8).AsUInt32();
        return (low, high);
    }

    // Shifts the 256-bit high:low left one bit and reduces it to 128 bits.
    private static Vector128<byte> Reduce(Vector128<uint> low, Vector128<uint> high)
    {
        var lowCarry = Sse2.ShiftRightLogical(low, 31);
        var highCarry = Sse2.ShiftRightLogical(high, 31);
        low = Sse2.ShiftLeftLogical(low, 1);
        high = Sse2.ShiftLeftLogical(high, 1);
        var crossing = Sse2.ShiftRightLogical128BitLane(lowCarry.AsByte(), 12).AsUInt32();
        highCarry = Sse2.ShiftLeftLogical128BitLane(highCarry.AsByte(), 4).AsUInt32();
        lowCarry = Sse2.ShiftLeftLogical128BitLane(lowCarry.AsByte(), 4).AsUInt32();
        low |= lowCarry;
        high |= highCarry | crossing;

        // First phase of the reduction.
        var t = Sse2.ShiftLeftLogical(low, 31) ^ Sse2.ShiftLeftLogical(low, 30) ^ Sse2.ShiftLeftLogical(low, 25);
        var carried = Sse2.ShiftRightLogical128BitLane(t.AsByte(), 4).AsUInt32();
        low ^= Sse2.ShiftLeftLogical128BitLane(t.AsByte(), 12).AsUInt32();

        // Second phase.
        var u = Sse2.ShiftRightLogical(low, 1) ^ Sse2.ShiftRightLogical(low, 2) ^ Sse2.ShiftRightLogical(low, 7) ^ carried;
        return (high ^ low ^ u).AsByte();
    }

    // The nonce followed by a 32-bit big-endian block counter.
    private static Vector128<byte> CounterBlock(ReadOnlySpan<byte> nonce, uint counter)
    {
        Span<byte> block = stackalloc byte[16];
        nonce.CopyTo(block);
        BinaryPrimitives.WriteUInt32BigEndian(block[12..], counter);
        return Vector128.Create((ReadOnlySpan<byte>)block);
    }

    private static Vector128<byte> EncryptBlock(ReadOnlySpan<Vector128<byte>> keys, Vector128<byte> block)
    {
        block ^= keys[0];
        for (var round = 1; round < Rounds; round++)
        {
            block = AesNi.Encrypt(block, keys[round]);
        }

        return AesNi.EncryptLast(block, keys[Rounds]);
    }

    private static (Vector128<byte>, Vector128<byte>, Vector128<byte>, Vector128<byte>) EncryptBlocks(ReadOnlySpan<Vector128<byte>> keys, Vector128<byte> b0, Vector128<byte> b1, Vector128<byte> b2, Vector128<byte> b3)
    {
        var k = keys[0];
        b0 ^= k;
        b1 ^= k;
        b2 ^= k;
        b3 ^= k;
        for (var round = 1; round < Rounds; round++)
        {
            k = keys[round];
            b0 = AesNi.Encrypt(b0, k);
            b1 = AesNi.Encrypt(b1, k);
            b2 = AesNi.Encrypt(b2, k);
            b3 = AesNi.Encrypt(b3, k);
        }

        k = keys[Rounds];
        return (AesNi.EncryptLast(b0, k), AesNi.EncryptLast(b1, k), AesNi.EncryptLast(b2, k), AesNi.EncryptLast(b3, k));
    }
}
