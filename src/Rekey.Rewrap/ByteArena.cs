using System.Buffers;

namespace Rekey.Rewrap;

/// <summary>
/// Holds one batch's ciphertexts in a few large pooled chunks instead of an array per value. A
/// batch lives while later ones are read and transformed, so its values outlive several garbage
/// collections; as millions of small arrays they would be copied from generation to generation,
/// which cost a job about a third of its time. Everything handed out is valid until
/// <see cref="Dispose"/>, which gives the chunks back.
/// </summary>
internal sealed class ByteArena : IDisposable
{
    /// <summary>Large enough that a batch of thousands of values needs a few chunks.</summary>
    public const int ChunkSize = 1 << 20;

    private readonly ArrayPool<byte> _pool;
    private readonly List<byte[]> _chunks = [];
    private byte[] _current = [];
    private int _used;

    public ByteArena(ArrayPool<byte>? pool = null) => _pool = pool ?? ArrayPool<byte>.Shared;

    /// <summary>Room for <paramref name="length"/> bytes.</summary>
    public ArraySegment<byte> Allocate(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (_current.Length - _used < length)
        {
            _current = _pool.Rent(Math.Max(ChunkSize, length));
            _chunks.Add(_current);
            _used = 0;
        }

        var segment = new ArraySegment<byte>(_current, _used, length);
        _used += length;
        return segment;
    }

    /// <summary>A copy of <paramref name="bytes"/> held by the arena.</summary>
    public ReadOnlyMemory<byte> Copy(ReadOnlySpan<byte> bytes)
    {
        var segment = Allocate(bytes.Length);
        bytes.CopyTo(segment);
        return segment;
    }

    public void Dispose()
    {
        foreach (var chunk in _chunks)
        {
            _pool.Return(chunk);
        }

        _chunks.Clear();
        _current = [];
        _used = 0;
    }
}
