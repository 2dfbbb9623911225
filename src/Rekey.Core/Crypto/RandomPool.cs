using System.Security.Cryptography;

namespace Rekey.Crypto;

/// <summary>
/// Small draws from the system's cryptographic generator, served from a per-thread block of its
/// output: each call to the generator costs about as much as an envelope's whole encryption
/// (a lock and a round trip into OpenSSL), so one call fills a block that serves many data keys
/// and nonces. Every byte handed out is zeroed in the block at once, and the block lives on the
/// pinned heap, so the garbage collector never leaves a copy of unused output behind.
/// </summary>
internal static class RandomPool
{
    /// <summary>The largest draw served from the block; larger ones go to the generator directly.</summary>
    public const int MaxDraw = 256;

    private const int BlockSize = 4096;

    [ThreadStatic]
    private static byte[]? t_block;

    [ThreadStatic]
    private static int t_used;

    /// <summary>Fills <paramref name="destination"/> with cryptographically strong random bytes.</summary>
    public static void Fill(Span<byte> destination)
    {
        if (destination.Length > MaxDraw)
        {
            RandomNumberGenerator.Fill(destination);
            return;
        }

        var block = t_block;
        if (block is null)
        {
            block = t_block = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);
            t_used = BlockSize;
        }

        if (BlockSize - t_used < destination.Length)
        {
            RandomNumberGenerator.Fill(block);
            t_used = 0;
        }

        var draw = block.AsSpan(t_used, destination.Length);
        draw.CopyTo(destination);
        CryptographicOperations.ZeroMemory(draw);
        t_used += destination.Length;
    }
}
