using System.IO.Pipes;
using System.Security.Cryptography;
using Rekey.Errors;
using Rekey.Files;

namespace Rekey.Files.Tests;

/// <summary>Round trips of every size around the segment boundary and past 2 GiB, through memory and an OS pipe.</summary>
public sealed class FileStreamTests : IAsyncLifetime
{
    private FileHarness _files = null!;

    public async Task InitializeAsync() => _files = await FileHarness.StartAsync();

    public async Task DisposeAsync() => await _files.DisposeAsync();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(FileLayout.SegmentSize - 1)]
    [InlineData(FileLayout.SegmentSize)]
    [InlineData(FileLayout.SegmentSize + 1)]
    [InlineData((3 * FileLayout.SegmentSize) + 17)]
    public async Task RoundTrip_AtAndAroundTheSegmentSize(int length)
    {
        var plaintext = RandomNumberGenerator.GetBytes(length);
        var file = await _files.EncryptAsync(plaintext);
        Assert.True(FileLayout.TryMeasure(file.Length, out var segments, out var measured));
        Assert.Equal(length, measured);
        Assert.Equal(Math.Max(1, (length + FileLayout.SegmentSize - 1) / FileLayout.SegmentSize), segments);
        var (released, error) = await _files.DecryptAsync(file);
        Assert.Null(error);
        Assert.Equal(plaintext, released);

        var info = await RekeyFileStreams.InspectAsync(new MemoryStream(file));
        Assert.Equal(new EncryptedFileInfo(FileHarness.Key, 1, 1, segments, length), info);
    }

    [Fact]
    public async Task RoundTrip_OverTwoGibibytes_ThroughAnOsPipe_InConstantMemory()
    {
        const long Length = (2L << 30) + 12_345;
        using var server = new AnonymousPipeServerStream(PipeDirection.Out);
        using var client = new AnonymousPipeClientStream(PipeDirection.In, server.ClientSafePipeHandle);
        using var sent = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var writer = Task.Run(async () =>
        {
            var chunk = new byte[1 << 20];
            await using var encryptor = await RekeyFileStreams.CreateEncryptorAsync(server, _files.Service, FileHarness.Key, FileHarness.Context, leaveOpen: true);
            for (long done = 0; done < Length; done += chunk.Length)
            {
                var take = (int)Math.Min(chunk.Length, Length - done);
                RandomNumberGenerator.Fill(chunk.AsSpan(0, take));
                sent.AppendData(chunk, 0, take);
                await encryptor.WriteAsync(chunk.AsMemory(0, take));
            }

            await encryptor.FinishAsync();
            server.Close();
        });

        using var received = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long total = 0;
        await using (var decryptor = await RekeyFileStreams.OpenDecryptorAsync(client, _files.Service, FileHarness.Context, FileHarness.Key, leaveOpen: true))
        {
            var buffer = new byte[1 << 20];
            int read;
            while ((read = await decryptor.ReadAsync(buffer)) > 0)
            {
                received.AppendData(buffer, 0, read);
                total += read;
            }
        }

        await writer;
        Assert.Equal(Length, total);
        Assert.Equal(sent.GetHashAndReset(), received.GetHashAndReset());
    }

    [Fact]
    public async Task TheWrongContext_OrAnotherKey_IsRefused_AndNothingIsReleased()
    {
        var file = await _files.EncryptAsync(RandomNumberGenerator.GetBytes(1000));
        var (released, error) = await _files.DecryptAsync(file, Envelope.EncryptionContext.From("db=other"));
        Assert.Equal(RekeyErrorCode.DecryptionFailed, Assert.IsType<RekeyException>(error).Code);
        Assert.Empty(released);

        var other = Keys.KeyName.Parse("backups/other");
        await _files.Service.CreateKeyAsync(other);
        var wrongKey = await Assert.ThrowsAsync<RekeyException>(() => RekeyFileStreams.OpenDecryptorAsync(new MemoryStream(file), _files.Service, FileHarness.Context, other));
        Assert.Equal(RekeyErrorCode.InvalidRequest, wrongKey.Code);

        var notAFile = await Assert.ThrowsAsync<RekeyException>(() => RekeyFileStreams.InspectAsync(new MemoryStream(new byte[FileLayout.HeaderSize])));
        Assert.Contains("not a Rekey encrypted file", notAFile.Message, StringComparison.Ordinal);
    }
}
