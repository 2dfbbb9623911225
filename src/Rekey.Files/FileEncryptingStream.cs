using System.Security.Cryptography;

namespace Rekey.Files;

/// <summary>
/// Encrypts what is written to it into an encrypted file on the stream beneath, one 64 KiB segment
/// at a time: memory stays at two segments whatever the length. The file is complete only once this
/// stream is disposed (or <see cref="FinishAsync"/> ran), which seals the last segment.
/// Made by <see cref="RekeyFileStreams.CreateEncryptorAsync"/>.
/// </summary>
public sealed class FileEncryptingStream : Stream
{
    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private readonly AesGcm _aes;
    private readonly byte[] _plain = new byte[FileLayout.SegmentSize];
    private readonly byte[] _sealed = new byte[FileLayout.SealedSegmentSize];
    private int _filled;
    private long _index;
    private long _length;
    private bool _finished;

    internal FileEncryptingStream(Stream output, ReadOnlySpan<byte> segmentKey, bool leaveOpen)
    {
        _output = output;
        _leaveOpen = leaveOpen;
        _aes = new AesGcm(segmentKey, FileLayout.TagSize);
    }

    /// <summary>Plaintext bytes written so far.</summary>
    public long PlaintextLength => _length;

    /// <summary>Segments sealed so far (the last one included, once finished).</summary>
    public long Segments => _index;

    /// <inheritdoc />
    public override bool CanRead => false;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => !_finished;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position { get => _length; set => throw new NotSupportedException(); }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        while (!buffer.IsEmpty)
        {
            // A full segment is sealed only when more data follows: until then it may be the last.
            if (_filled == FileLayout.SegmentSize)
            {
                _output.Write(Seal(last: false));
            }

            // A whole segment with more after it is not the last: sealed from the caller's bytes, no copy.
            if (_filled == 0 && buffer.Length > FileLayout.SegmentSize)
            {
                _output.Write(SealMemory(buffer[..FileLayout.SegmentSize], last: false).Span);
                _length += FileLayout.SegmentSize;
                buffer = buffer[FileLayout.SegmentSize..];
                continue;
            }

            var take = Math.Min(buffer.Length, FileLayout.SegmentSize - _filled);
            buffer[..take].CopyTo(_plain.AsSpan(_filled));
            _filled += take;
            _length += take;
            buffer = buffer[take..];
        }
    }

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        while (!buffer.IsEmpty)
        {
            if (_filled == FileLayout.SegmentSize)
            {
                await _output.WriteAsync(SealMemory(last: false), cancellationToken).ConfigureAwait(false);
            }

            if (_filled == 0 && buffer.Length > FileLayout.SegmentSize)
            {
                await _output.WriteAsync(SealMemory(buffer.Span[..FileLayout.SegmentSize], last: false), cancellationToken).ConfigureAwait(false);
                _length += FileLayout.SegmentSize;
                buffer = buffer[FileLayout.SegmentSize..];
                continue;
            }

            var take = Math.Min(buffer.Length, FileLayout.SegmentSize - _filled);
            buffer.Span[..take].CopyTo(_plain.AsSpan(_filled));
            (_filled, _length, buffer) = (_filled + take, _length + take, buffer[take..]);
        }
    }

    /// <summary>Seals the last segment and flushes: the file is complete. Nothing may be written after.</summary>
    public async Task FinishAsync(CancellationToken cancellationToken = default)
    {
        if (_finished)
        {
            return;
        }

        await _output.WriteAsync(SealMemory(last: true), cancellationToken).ConfigureAwait(false);
        await _output.FlushAsync(cancellationToken).ConfigureAwait(false);
        _finished = true;
    }

    /// <inheritdoc />
    public override void Flush() => _output.Flush();

    /// <inheritdoc />
    public override Task FlushAsync(CancellationToken cancellationToken) => _output.FlushAsync(cancellationToken);

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        try
        {
            await FinishAsync().ConfigureAwait(false);
        }
        finally
        {
            Release();
            if (!_leaveOpen)
            {
                await _output.DisposeAsync().ConfigureAwait(false);
            }
        }

        GC.SuppressFinalize(this);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            try
            {
                if (!_finished)
                {
                    _output.Write(Seal(last: true));
                    _output.Flush();
                    _finished = true;
                }
            }
            finally
            {
                Release();
                if (!_leaveOpen)
                {
                    _output.Dispose();
                }
            }
        }

        base.Dispose(disposing);
    }

    private ReadOnlySpan<byte> Seal(bool last) => SealMemory(last).Span;

    private ReadOnlyMemory<byte> SealMemory(bool last)
    {
        var sealedSegment = SealMemory(_plain.AsSpan(0, _filled), last);
        _filled = 0;
        return sealedSegment;
    }

    private ReadOnlyMemory<byte> SealMemory(ReadOnlySpan<byte> plaintext, bool last)
    {
        Span<byte> nonce = stackalloc byte[12];
        FileLayout.Nonce(nonce, _index, last);
        _aes.Encrypt(nonce, plaintext, _sealed.AsSpan(0, plaintext.Length), _sealed.AsSpan(plaintext.Length, FileLayout.TagSize));
        _index++;
        return _sealed.AsMemory(0, plaintext.Length + FileLayout.TagSize);
    }

    private void Release()
    {
        _finished = true;
        CryptographicOperations.ZeroMemory(_plain);
        _aes.Dispose();
    }
}
