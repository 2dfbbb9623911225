using System.Security.Cryptography;
using Rekey.Errors;

namespace Rekey.Files;

/// <summary>
/// Reads the plaintext of an encrypted file from the stream beneath, one segment at a time, and
/// releases a segment's bytes only after its tag verified: a reordered, dropped, duplicated,
/// truncated, extended or swapped-in segment ends the read with <see cref="RekeyErrorCode.DecryptionFailed"/>
/// before any of its bytes (or any later ones) are returned. Memory stays at two segments.
/// Made by <see cref="RekeyFileStreams.OpenDecryptorAsync"/>.
/// </summary>
public sealed class FileDecryptingStream : Stream
{
    private readonly Stream _input;
    private readonly bool _leaveOpen;
    private readonly AesGcm _aes;
    private readonly byte[] _sealed = new byte[FileLayout.SealedSegmentSize + 1];
    private readonly byte[] _plain = new byte[FileLayout.SegmentSize];
    private int _carried;
    private int _plainStart;
    private int _plainEnd;
    private long _index;
    private long _position;
    private bool _ended;
    private bool _failed;
    private bool _disposed;

    internal FileDecryptingStream(Stream input, ReadOnlySpan<byte> segmentKey, bool leaveOpen)
    {
        _input = input;
        _leaveOpen = leaveOpen;
        _aes = new AesGcm(segmentKey, FileLayout.TagSize);
    }

    /// <inheritdoc />
    public override bool CanRead => !_disposed;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => false;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ThrowIfFailed();
        while (_plainStart == _plainEnd && !_ended)
        {
            var filled = _carried;
            while (filled < _sealed.Length)
            {
                var read = _input.Read(_sealed, filled, _sealed.Length - filled);
                if (read == 0)
                {
                    break;
                }

                filled += read;
            }

            if (Open(filled, buffer) is var direct and > 0)
            {
                return direct;
            }
        }

        return Take(buffer);
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ThrowIfFailed();
        while (_plainStart == _plainEnd && !_ended)
        {
            var filled = _carried;
            while (filled < _sealed.Length)
            {
                var read = await _input.ReadAsync(_sealed.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                filled += read;
            }

            if (Open(filled, buffer.Span) is var direct and > 0)
            {
                return direct;
            }
        }

        return Take(buffer.Span);
    }

    /// <inheritdoc />
    public override void Flush()
    {
    }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        Release();
        if (!_leaveOpen)
        {
            await _input.DisposeAsync().ConfigureAwait(false);
        }

        GC.SuppressFinalize(this);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Release();
            if (!_leaveOpen)
            {
                _input.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    // `filled` bytes of sealed data are buffered: one full segment and one byte beyond it (so it is
    // not the last), or fewer, which makes them the last segment. The byte beyond is carried over.
    // A caller's buffer that holds the whole segment receives it directly (the count is returned);
    // otherwise it goes to the stream's own buffer (0 is returned). Either way only once its tag verified.
    private int Open(int filled, Span<byte> caller)
    {
        var last = filled <= FileLayout.SealedSegmentSize;
        var length = last ? filled : FileLayout.SealedSegmentSize;
        if (length < FileLayout.TagSize)
        {
            // Nothing, or less than a tag, where a segment must be: the file was cut short.
            throw Failed();
        }

        Span<byte> nonce = stackalloc byte[12];
        FileLayout.Nonce(nonce, _index, last);
        var plainLength = length - FileLayout.TagSize;
        var direct = plainLength > 0 && caller.Length >= plainLength;
        var destination = direct ? caller[..plainLength] : _plain.AsSpan(0, plainLength);
        try
        {
            _aes.Decrypt(nonce, _sealed.AsSpan(0, plainLength), _sealed.AsSpan(plainLength, FileLayout.TagSize), destination);
        }
        catch (AuthenticationTagMismatchException)
        {
            CryptographicOperations.ZeroMemory(destination);
            throw Failed();
        }

        if (!last)
        {
            _sealed[0] = _sealed[FileLayout.SealedSegmentSize];
        }

        (_carried, _plainStart, _plainEnd, _index, _ended) = (last ? 0 : 1, 0, direct ? 0 : plainLength, _index + 1, last);
        if (direct)
        {
            _position += plainLength;
            return plainLength;
        }

        return 0;
    }

    private int Take(Span<byte> buffer)
    {
        var count = Math.Min(buffer.Length, _plainEnd - _plainStart);
        _plain.AsSpan(_plainStart, count).CopyTo(buffer);
        _plainStart += count;
        _position += count;
        return count;
    }

    // A failed file stays failed: reading on never looks like a clean end.
    private void ThrowIfFailed()
    {
        if (_failed)
        {
            throw RekeyException.DecryptionFailed();
        }
    }

    private RekeyException Failed()
    {
        _failed = true;
        _ended = true;
        _plainStart = _plainEnd = 0;
        return RekeyException.DecryptionFailed();
    }

    private void Release()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        CryptographicOperations.ZeroMemory(_plain);
        _aes.Dispose();
    }
}
