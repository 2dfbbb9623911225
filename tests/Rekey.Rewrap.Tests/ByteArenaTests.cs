using System.Buffers;

namespace Rekey.Rewrap.Tests;

public sealed class ByteArenaTests
{
    [Fact]
    public void Values_AcrossChunksAndLargerThanAChunk_KeepTheirBytes_UntilDisposed()
    {
        var pool = ArrayPool<byte>.Create(ByteArena.ChunkSize, 4);
        using var arena = new ByteArena(pool);
        var random = new Random(7);
        var originals = new List<byte[]>();
        var held = new List<ReadOnlyMemory<byte>>();

        // Sizes that straddle chunk ends, empty ones, and one bigger than a chunk.
        foreach (var size in Enumerable.Range(0, 6000).Select(i => i == 3000 ? ByteArena.ChunkSize + 5 : random.Next(0, 700)))
        {
            var bytes = new byte[size];
            random.NextBytes(bytes);
            originals.Add(bytes);
            held.Add(arena.Copy(bytes));
        }

        for (var i = 0; i < originals.Count; i++)
        {
            Assert.True(originals[i].AsSpan().SequenceEqual(held[i].Span), $"value {i} changed");
        }
    }

    [Fact]
    public void Dispose_GivesChunksBack_ForTheNextArena()
    {
        var pool = ArrayPool<byte>.Create(ByteArena.ChunkSize, 4);
        byte[] first;
        using (var arena = new ByteArena(pool))
        {
            first = arena.Allocate(10).Array!;
        }

        using var next = new ByteArena(pool);
        Assert.Same(first, next.Allocate(10).Array);
    }
}
