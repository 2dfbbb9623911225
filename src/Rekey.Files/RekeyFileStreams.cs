using System.Security.Cryptography;
using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Keys;

namespace Rekey.Files;

/// <summary>What an encrypted file's header says, read without any key.</summary>
/// <param name="Key">The key its data key is wrapped under.</param>
/// <param name="Version">The key version that wraps it now.</param>
/// <param name="HeaderSequence">How many times the header was written (1, plus one per re-wrap).</param>
/// <param name="Segments">The number of segments, when the file's length is known.</param>
/// <param name="PlaintextLength">The plaintext's length, when the file's length is known.</param>
public sealed record EncryptedFileInfo(KeyName Key, int Version, ulong HeaderSequence, long? Segments, long? PlaintextLength);

/// <summary>
/// Encrypted files of any size (docs/formats.md): a stream that encrypts into one, a stream that
/// reads one back, reading its header without a key, and moving it to its key's Active version by
/// rewriting the header alone. The data key comes from an <see cref="ICryptoService"/>: the library
/// in process, or a server (which then sees the data key's envelope, never the data).
/// </summary>
public static class RekeyFileStreams
{
    private const int DataKeySize = 32;

    /// <summary>
    /// Writes an encrypted file's header to <paramref name="output"/> (a fresh data key under
    /// <paramref name="key"/>'s Active version, bound to <paramref name="context"/>) and returns the
    /// stream to write the plaintext to. Dispose it to seal the last segment.
    /// </summary>
    public static async Task<FileEncryptingStream> CreateEncryptorAsync(Stream output, ICryptoService crypto, KeyName key, EncryptionContext context, bool leaveOpen = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(crypto);
        ArgumentNullException.ThrowIfNull(context);
        using var dataKey = await crypto.GenerateDataKeyAsync(key, context, includePlaintext: true, cancellationToken: cancellationToken).ConfigureAwait(false);
        var header = new byte[FileLayout.HeaderSize];
        FileLayout.WritePrefix(header, RandomNumberGenerator.GetBytes(FileLayout.SaltSize));
        FileLayout.WriteSlot(header.AsSpan(FileLayout.SlotOffset(0), FileLayout.SlotSize), 1, dataKey.Envelope);
        var segmentKey = new byte[32];
        try
        {
            FileLayout.DeriveSegmentKey(dataKey.DangerousPlaintext, header, segmentKey);
            await output.WriteAsync(header, cancellationToken).ConfigureAwait(false);
            return new FileEncryptingStream(output, segmentKey, leaveOpen);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(segmentKey);
        }
    }

    /// <summary>
    /// Reads an encrypted file's header from <paramref name="input"/>, has its data key unwrapped
    /// with <paramref name="context"/> (refused unless it is the context the file was encrypted
    /// with), and returns the stream to read the plaintext from. With <paramref name="expectedKey"/>,
    /// a file under another key is refused.
    /// </summary>
    public static async Task<FileDecryptingStream> OpenDecryptorAsync(Stream input, ICryptoService crypto, EncryptionContext context, KeyName? expectedKey = null, bool leaveOpen = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(crypto);
        ArgumentNullException.ThrowIfNull(context);
        var header = new byte[FileLayout.HeaderSize];
        await input.ReadExactlyAsync(header, cancellationToken).ConfigureAwait(false);
        var envelope = ActiveEnvelope(header, out _).ToArray();
        var key = EnvelopeReader.ReadHeader(envelope).Key;
        if (expectedKey is { } expected && expected != key)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, $"The file is encrypted under key '{key}', not '{expected}'.");
        }

        var dataKey = await crypto.DecryptAsync(key, envelope, context, cancellationToken).ConfigureAwait(false);
        var segmentKey = new byte[32];
        try
        {
            if (dataKey.Length != DataKeySize)
            {
                throw RekeyException.DecryptionFailed();
            }

            FileLayout.DeriveSegmentKey(dataKey, header, segmentKey);
            return new FileDecryptingStream(input, segmentKey, leaveOpen);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
            CryptographicOperations.ZeroMemory(segmentKey);
        }
    }

    /// <summary>Reads the header of <paramref name="input"/> (and, when it can seek, its length): key, version and size, with no key.</summary>
    public static async Task<EncryptedFileInfo> InspectAsync(Stream input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var header = new byte[FileLayout.HeaderSize];
        await input.ReadExactlyAsync(header, cancellationToken).ConfigureAwait(false);
        var envelope = ActiveEnvelope(header, out var sequence);
        var parsed = EnvelopeReader.ReadHeader(envelope);
        long? segments = null;
        long? plaintext = null;
        if (input.CanSeek && FileLayout.TryMeasure(input.Length, out var s, out var p))
        {
            (segments, plaintext) = (s, p);
        }

        return new EncryptedFileInfo(parsed.Key, parsed.Version, sequence, segments, plaintext);
    }

    /// <summary>
    /// Moves the file at <paramref name="path"/> to its key's Active version by writing a new header
    /// slot (the data key re-wrapped; no data read or written), in time independent of the file's
    /// size. Crash-safe: the new slot goes where the old one is not, and is made durable; a write cut
    /// short leaves a slot whose checksum fails, so the old one is still used. Returns the version
    /// before and after (equal when the file was already under the Active version).
    /// </summary>
    public static async Task<(int From, int To)> RewrapFileAsync(string path, ICryptoService crypto, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(crypto);
        var header = new byte[FileLayout.HeaderSize];
        await using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0, FileOptions.Asynchronous))
        {
            await file.ReadExactlyAsync(header, cancellationToken).ConfigureAwait(false);
        }

        var envelope = ActiveEnvelope(header, out _).ToArray();
        var before = EnvelopeReader.ReadHeader(envelope);
        var rewrapped = await crypto.RewrapAsync(before.Key, envelope, cancellationToken).ConfigureAwait(false);
        var after = EnvelopeReader.ReadHeader(rewrapped).Version;
        if (after == before.Version)
        {
            return (before.Version, after);
        }

        if (rewrapped.Length > FileLayout.MaxEnvelopeSize)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "The re-wrapped data key does not fit the file's header slot.");
        }

        return await ReplaceEnvelopeAsync(path, envelope, rewrapped, cancellationToken).ConfigureAwait(false)
            ? (before.Version, after)
            : throw new RekeyException(RekeyErrorCode.Conflict, $"'{path}' changed while it was being re-wrapped; nothing was written. Run the re-wrap again.");
    }

    /// <summary>
    /// Writes <paramref name="next"/> as the file's new header slot, as <see cref="RewrapFileAsync"/>
    /// does, but only while its active slot still holds <paramref name="expected"/>: false (and
    /// nothing written) when the file changed meanwhile, or is gone.
    /// </summary>
    public static async Task<bool> ReplaceEnvelopeAsync(string path, ReadOnlyMemory<byte> expected, ReadOnlyMemory<byte> next, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (next.Length is 0 or > FileLayout.MaxEnvelopeSize)
        {
            return false;
        }

        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0, FileOptions.Asynchronous);
        }
        catch (FileNotFoundException)
        {
            return false;
        }

        await using (file)
        {
            var header = new byte[FileLayout.HeaderSize];
            if (await file.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false) != header.Length
                || !FileLayout.TryActiveEnvelope(header, out _, out _, out var current)
                || !current.SequenceEqual(expected.Span))
            {
                return false;
            }

            var offset = FileLayout.WriteNextSlot(header, next.Span);
            file.Position = offset;
            await file.WriteAsync(header.AsMemory(offset, FileLayout.SlotSize), cancellationToken).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
            return true;
        }
    }

    /// <summary>The envelope in the header's active slot; <see cref="RekeyErrorCode.InvalidRequest"/> when the bytes are not an encrypted file, <see cref="RekeyErrorCode.DecryptionFailed"/> when neither slot is intact.</summary>
    public static ReadOnlySpan<byte> ActiveEnvelope(ReadOnlySpan<byte> header, out ulong sequence)
    {
        if (header.Length < FileLayout.HeaderSize || !header[..8].SequenceEqual(FileLayout.Magic))
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "This is not a Rekey encrypted file (it does not start with RKEYFILE).");
        }

        if (!FileLayout.IsPrefix(header))
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, $"This encrypted file has format version {header[8]} or a segment size this build does not read (it reads version {FileLayout.FormatVersion}, 64 KiB segments).");
        }

        return FileLayout.TryActiveEnvelope(header, out _, out sequence, out var envelope) ? envelope : throw RekeyException.DecryptionFailed();
    }
}
