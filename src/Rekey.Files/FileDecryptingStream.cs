using System.Security.Cryptography;
using Rekey.Errors;

namespace Rekey.Files;

/// <summary>
/// Reads the plaintext of an encrypted file from the stream beneath, sixteen segments at a time
/// (opened on several cores at once), and releases a segment's bytes only after its tag verified:
/// a reordered, dropped, duplicated, truncated, extended or swapped-in segment ends the read with
/// <see cref="RekeyErrorCode.DecryptionFailed"/> once the segments before it have been read, before
/// any of its bytes or later ones. Memory stays at 2 MiB. Made by <see cref="RekeyFileStreams.OpenDecryptorAsync"/>.
/// </summary>
public sealed class FileDecryptingStream : Stream
{
    private const int BatchSealed = SegmentCipher.Batch * FileLayout.SealedSegmentSize;

    private readonly Stream _input;
    private readonly bool _leaveOpen;
    private readonly SegmentCipher _cipher;

    // One batch of sealed segments and one byte beyond it: that byte says the batch does not end the file.
    private readonly byte[] _sealed = new byte[BatchSealed + 1];
    private readonly byte[] _plain = new byte[SegmentCipher.Batch * FileLayout.SegmentSize];
    private int _carried;
    private int _plainStart;
    private int _plainEnd;
    private long _index;
    private long _position;
    private bool _ended;
    private bool _failAfterPlain;
    private bool _failed;
    private bool _disposed;

    internal FileDecryptingStream(Stream input, ReadOnlySpan<byte> segmentKey, bool leaveOpen)
    {
        _input = input;
        _leaveOpen = leaveOpen;
        _cipher = new SegmentCipher(segmentKey);
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
        while (NeedsBatch())
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

            Open(filled);
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
        while (NeedsBatch())
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

            Open(filled);
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

    // Whether the released plaintext is used up and more must be read. A failure found in the last
    // batch is raised once the segments before it have been handed out; after that, every read fails:
    // a failed file never looks like a clean end.
    private bool NeedsBatch()
    {
        if (_plainStart < _plainEnd)
        {
            return false;
        }

        if (_failed || _failAfterPlain)
        {
            throw Failed();
        }

        return !_ended;
    }

    // `filled` sealed bytes are buffered: a whole batch and one byte beyond it (so the batch does not
    // end the file; the byte is carried over), or fewer, which end the file.
    private void Open(int filled)
    {
        var endsFile = filled <= BatchSealed;
        var length = endsFile ? filled : BatchSealed;
        var lastSegment = length % FileLayout.SealedSegmentSize;
        if (length == 0 || (lastSegment is > 0 and < FileLayout.TagSize))
        {
            // Nothing, or less than a tag, where a segment must be: the file was cut short.
            throw Failed();
        }

        var (opened, plainLength, failed) = _cipher.Open(_sealed, length, _plain, _index, endsFile);
        if (!endsFile)
        {
            _sealed[0] = _sealed[BatchSealed];
        }

        _carried = endsFile ? 0 : 1;
        _index += opened;
        _plainStart = 0;
        _plainEnd = plainLength;
        _ended = endsFile;
        _failAfterPlain = failed;
    }

    private int Take(Span<byte> buffer)
    {
        var count = Math.Min(buffer.Length, _plainEnd - _plainStart);
        _plain.AsSpan(_plainStart, count).CopyTo(buffer);
        _plainStart += count;
        _position += count;
        return count;
    }

    private RekeyException Failed()
    {
        _failed = true;
        _ended = true;
        _plainStart = _plainEnd = 0;
        CryptographicOperations.ZeroMemory(_plain);
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
        _cipher.Dispose();
    }
}
