using System.Diagnostics;
using System.Security.Cryptography;
using Rekey.Errors;
using Rekey.Files;

namespace Rekey.Files.Tests;

/// <summary>Moving a file to the Active version by rewriting one header slot, and what a write cut short leaves.</summary>
public sealed class HeaderRewrapTests : IAsyncLifetime
{
    private FileHarness _files = null!;

    public async Task InitializeAsync() => _files = await FileHarness.StartAsync();

    public async Task DisposeAsync() => await _files.DisposeAsync();

    [Fact]
    public async Task Rewrap_MovesTheFileToTheActiveVersion_TouchingOnlyTheInactiveSlot()
    {
        var plaintext = RandomNumberGenerator.GetBytes((2 * FileLayout.SegmentSize) + 3);
        var path = Path.Combine(_files.Folder, "a.rkf");
        await File.WriteAllBytesAsync(path, await _files.EncryptAsync(plaintext));
        var before = await File.ReadAllBytesAsync(path);

        Assert.Equal((1, 1), await RekeyFileStreams.RewrapFileAsync(path, _files.Service));
        Assert.Equal(before, await File.ReadAllBytesAsync(path));

        await _files.Service.RotateAsync(FileHarness.Key);
        Assert.Equal((1, 2), await RekeyFileStreams.RewrapFileAsync(path, _files.Service));
        var after = await File.ReadAllBytesAsync(path);
        Assert.Equal(before.Length, after.Length);
        Assert.Equal(before[..FileLayout.SlotOffset(1)], after[..FileLayout.SlotOffset(1)]);
        Assert.Equal(before[FileLayout.HeaderSize..], after[FileLayout.HeaderSize..]);
        Assert.Equal(new EncryptedFileInfo(FileHarness.Key, 2, 2, 3, plaintext.Length), await Inspect(path));

        // The next rotation writes the other slot again.
        await _files.Service.RotateAsync(FileHarness.Key);
        Assert.Equal((2, 3), await RekeyFileStreams.RewrapFileAsync(path, _files.Service));
        Assert.Equal(3UL, (await Inspect(path)).HeaderSequence);
        Assert.Equal(plaintext, (await _files.DecryptAsync(await File.ReadAllBytesAsync(path))).Released);

        // Once version 1 is gone the file still reads: nothing under it is left in use.
        await _files.Service.DisableAsync(FileHarness.Key, 1);
        Assert.Equal(plaintext, (await _files.DecryptAsync(await File.ReadAllBytesAsync(path))).Released);
    }

    [Fact]
    public async Task AWriteCutShort_LeavesTheOldSlotInUse_AndBothSlotsDamaged_IsRefused()
    {
        var plaintext = RandomNumberGenerator.GetBytes(1000);
        var original = await _files.EncryptAsync(plaintext);
        await _files.Service.RotateAsync(FileHarness.Key);
        var path = Path.Combine(_files.Folder, "b.rkf");
        await File.WriteAllBytesAsync(path, original);
        await RekeyFileStreams.RewrapFileAsync(path, _files.Service);
        var rewrapped = await File.ReadAllBytesAsync(path);

        // Every length of a torn write of the new slot over the old bytes: the old slot is used.
        for (var torn = 1; torn < FileLayout.SlotSize; torn += 37)
        {
            var partial = (byte[])original.Clone();
            Array.Copy(rewrapped, FileLayout.SlotOffset(1), partial, FileLayout.SlotOffset(1), torn);
            Assert.Equal(1, (await RekeyFileStreams.InspectAsync(new MemoryStream(partial))).Version);
            Assert.Equal(plaintext, (await _files.DecryptAsync(partial)).Released);
        }

        var damaged = (byte[])rewrapped.Clone();
        damaged[FileLayout.SlotOffset(0) + 20] ^= 1;
        damaged[FileLayout.SlotOffset(1) + 20] ^= 1;
        Assert.Equal(RekeyErrorCode.DecryptionFailed, Assert.IsType<RekeyException>((await _files.DecryptAsync(damaged)).Error).Code);
    }

    [Fact]
    public async Task RewrapTime_DoesNotGrowWithTheFile()
    {
        var small = Path.Combine(_files.Folder, "small.rkf");
        var large = Path.Combine(_files.Folder, "large.rkf");
        await File.WriteAllBytesAsync(small, await _files.EncryptAsync(new byte[1 << 20]));
        await using (var output = File.Create(large))
        await using (var encryptor = await RekeyFileStreams.CreateEncryptorAsync(output, _files.Service, FileHarness.Key, FileHarness.Context))
        {
            var chunk = new byte[1 << 20];
            for (var i = 0; i < 256; i++)
            {
                await encryptor.WriteAsync(chunk);
            }
        }

        // The work is the same for both: read the header, re-wrap one envelope, write one slot.
        await _files.Service.RotateAsync(FileHarness.Key);
        Assert.Equal((1, 2), await RekeyFileStreams.RewrapFileAsync(small, _files.Service));
        Assert.Equal((1, 2), await RekeyFileStreams.RewrapFileAsync(large, _files.Service));
        Assert.Equal(FileLayout.HeaderSize + (4096L * FileLayout.SealedSegmentSize), new FileInfo(large).Length);
    }

    private static async Task<EncryptedFileInfo> Inspect(string path)
    {
        await using var file = File.OpenRead(path);
        return await RekeyFileStreams.InspectAsync(file);
    }
}
