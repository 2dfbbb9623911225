using System.Security.Cryptography;
using Rekey.Errors;
using Rekey.Files;

namespace Rekey.Files.Tests;

/// <summary>
/// Every way to rearrange an encrypted file's segments is refused with the one decryption error,
/// and nothing of the tampered segment or after it is released.
/// </summary>
public sealed class TamperTests : IAsyncLifetime
{
    private const int S = FileLayout.SealedSegmentSize;
    private const int H = FileLayout.HeaderSize;
    private FileHarness _files = null!;
    private byte[] _plaintext = [];
    private byte[] _file = [];

    public async Task InitializeAsync()
    {
        _files = await FileHarness.StartAsync();
        _plaintext = RandomNumberGenerator.GetBytes((4 * FileLayout.SegmentSize) + 100);
        _file = await _files.EncryptAsync(_plaintext);
    }

    public async Task DisposeAsync() => await _files.DisposeAsync();

    public static TheoryData<string> Tampers => ["reorder", "drop", "duplicate", "truncate-at-boundary", "truncate-inside", "truncate-to-header", "extend-byte", "extend-segment", "swap-from-other-file", "flip-data-bit", "flip-tag-bit", "flip-salt-bit"];

    [Theory]
    [MemberData(nameof(Tampers))]
    public async Task Tampered_IsRefused_ReleasingOnlySegmentsBeforeTheTamper(string tamper)
    {
        var other = await _files.EncryptAsync(RandomNumberGenerator.GetBytes(_plaintext.Length));
        var (bytes, intactSegments) = tamper switch
        {
            "reorder" => (Concat(_file[..(H + S)], Segment(2), Segment(1), _file[(H + (3 * S))..]), 1),
            "drop" => (Concat(_file[..(H + S)], _file[(H + (2 * S))..]), 1),
            "duplicate" => (Concat(_file[..(H + (2 * S))], Segment(1), _file[(H + (2 * S))..]), 2),
            "truncate-at-boundary" => (_file[..(H + (2 * S))], 1),
            "truncate-inside" => (_file[..(H + (2 * S) + 5000)], 2),
            "truncate-to-header" => (_file[..H], 0),
            "extend-byte" => (Concat(_file, [0]), 4),
            "extend-segment" => (Concat(_file, Segment(4)), 4),
            "swap-from-other-file" => (Concat(_file[..(H + (2 * S))], other[(H + (2 * S))..(H + (3 * S))], _file[(H + (3 * S))..]), 2),
            "flip-data-bit" => (Flip(_file, H + (3 * S) + 10), 3),
            "flip-tag-bit" => (Flip(_file, H + (2 * S) - 1), 1),
            "flip-salt-bit" => (Flip(_file, 20), 0),
            _ => throw new ArgumentOutOfRangeException(nameof(tamper)),
        };

        // Small reads go through the stream's buffer; reads of a segment or more are decrypted in place.
        foreach (var bufferSize in new[] { 7_777, 3 * FileLayout.SegmentSize })
        {
            var (released, error) = await _files.DecryptAsync(bytes, bufferSize: bufferSize);
            Assert.Equal(RekeyErrorCode.DecryptionFailed, Assert.IsType<RekeyException>(error).Code);
            Assert.Equal(RekeyException.DecryptionFailed().Message, error.Message);

            // Only whole segments before the tamper came out, and exactly as encrypted.
            Assert.Equal(intactSegments * FileLayout.SegmentSize, released.Length);
            Assert.Equal(_plaintext[..released.Length], released);
        }
    }

    [Fact]
    public async Task AFailedRead_StaysFailed_NeverLookingLikeTheEnd()
    {
        await using var decryptor = await RekeyFileStreams.OpenDecryptorAsync(new MemoryStream(_file[..(H + (2 * S))]), _files.Service, FileHarness.Context);
        var buffer = new byte[FileLayout.SegmentSize];
        Assert.Equal(FileLayout.SegmentSize, await decryptor.ReadAtLeastAsync(buffer, FileLayout.SegmentSize));
        await Assert.ThrowsAsync<RekeyException>(async () => await decryptor.ReadAtLeastAsync(buffer, 1));
        await Assert.ThrowsAsync<RekeyException>(async () => await decryptor.ReadAtLeastAsync(buffer, 1));
    }

    private byte[] Segment(int index) => _file[(H + (index * S))..Math.Min(_file.Length, H + ((index + 1) * S))];

    private static byte[] Flip(byte[] bytes, int at)
    {
        var copy = (byte[])bytes.Clone();
        copy[at] ^= 0x01;
        return copy;
    }

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}
