using System.Security.Cryptography;

namespace Rekey.Files;

/// <summary>
/// Encrypts what is written to it into an encrypted file on the stream beneath, sixteen 64 KiB
/// segments at a time (sealed on several cores at once): memory stays at 2 MiB whatever the length.
/// The file is complete only once this stream is disposed (or <see cref="FinishAsync"/> ran), which
/// seals the last segment. Made by <see cref="RekeyFileStreams.CreateEncryptorAsync"/>.
/// </summary>
public sealed class FileEncryptingStream : Stream
{
    private const int BatchBytes = SegmentCipher.Batch * FileLayout.SegmentSize;

    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private readonly SegmentCipher _cipher;
    private readonly byte[] _plain = new byte[BatchBytes];
    private readonly byte[] _sealed = new byte[SegmentCipher.Batch * FileLayout.SealedSegmentSize];
    private int _filled;
    private long _index;
    private long _length;
    private bool _finished;

    internal FileEncryptingStream(Stream output, ReadOnlySpan<byte> segmentKey, bool leaveOpen)
    {
        _output = output;
        _leaveOpen = leaveOpen;
        _cipher = new SegmentCipher(segmentKey);
    }

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
            // A full batch is sealed only when more data follows: until then its last segment may be the file's last.
            if (_filled == BatchBytes)
            {
                _output.Write(_sealed, 0, SealBatch(endsFile: false));
            }

            var take = Math.Min(buffer.Length, BatchBytes - _filled);
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
            if (_filled == BatchBytes)
            {
                await _output.WriteAsync(_sealed.AsMemory(0, SealBatch(endsFile: false)), cancellationToken).ConfigureAwait(false);
            }

            var take = Math.Min(buffer.Length, BatchBytes - _filled);
            buffer.Span[..take].CopyTo(_plain.AsSpan(_filled));
            _filled += take;
            _length += take;
            buffer = buffer[take..];
        }
    }

    /// <summary>Seals the last segment and flushes: the file is complete. Nothing may be written after.</summary>
    public async Task FinishAsync(CancellationToken cancellationToken = default)
    {
        if (_finished)
        {
            return;
        }

        await _output.WriteAsync(_sealed.AsMemory(0, SealBatch(endsFile: true)), cancellationToken).ConfigureAwait(false);
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
                    _output.Write(_sealed, 0, SealBatch(endsFile: true));
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

    // Seals the buffered plaintext (at the end of the file it may be empty: one empty last segment).
    private int SealBatch(bool endsFile)
    {
        var length = _cipher.Seal(_plain, _filled, _sealed, _index, endsFile);
        _index += Math.Max(1, (_filled + FileLayout.SegmentSize - 1) / FileLayout.SegmentSize);
        _filled = 0;
        return length;
    }

    private void Release()
    {
        _finished = true;
        CryptographicOperations.ZeroMemory(_plain);
        _cipher.Dispose();
    }
}
