using System.Buffers;
using Rekey.Envelope;

namespace Rekey.Rewrap;

/// <summary>
/// One pooled buffer that text envelopes are decoded into, one value at a time, so a batch of
/// thousands of values does not allocate an array per value just to read it.
/// </summary>
internal sealed class DecodeBuffer : IDisposable
{
    private byte[] _buffer = [];

    /// <summary>Decodes the UTF-8 text form; the result is valid until the next call.</summary>
    public ReadOnlyMemory<byte> Decode(ReadOnlySpan<byte> utf8)
    {
        var needed = EnvelopeText.GetMaxDecodedLength(utf8.Length);
        if (_buffer.Length < needed)
        {
            Return();
            _buffer = ArrayPool<byte>.Shared.Rent(needed);
        }

        return _buffer.AsMemory(0, EnvelopeText.DecodeFromUtf8(utf8, _buffer));
    }

    public void Dispose() => Return();

    private void Return()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }
}
