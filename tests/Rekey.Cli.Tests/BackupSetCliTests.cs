using System.Security.Cryptography;
using System.Text.Json;

namespace Rekey.Cli.Tests;

/// <summary>
/// A directory of encrypted backups as a registered data source: a re-wrap job moves every file to
/// the new version (resuming after a SIGKILL at any moment), the inventory counts files per version,
/// and a version is not destroyed while backups remain under it.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class BackupSetCliTests : IDisposable
{
    private const string Key = "backups/db";
    private readonly RekeyProcess _rekey = new();

    [Fact]
    public async Task ABackupSet_IsReWrappedByAJob_ThatSurvivesKills_AndHoldsBackDestruction()
    {
        var root = Path.GetDirectoryName(_rekey.StoreDir)!;
        var set = Directory.CreateDirectory(Path.Combine(root, "backups", "2026-11")).Parent!.FullName;
        _rekey.Run("init").Ok();
        _rekey.Run("key", "create", Key, "--destruction-delay", "0s").Ok();
        var plaintexts = new Dictionary<string, byte[]>();
        for (var i = 0; i < 8; i++)
        {
            var relative = i % 2 == 0 ? $"nightly-{i}.rkf" : Path.Combine("2026-11", $"nightly-{i}.rkf");
            var plain = Path.Combine(root, $"p{i}");
            plaintexts[relative] = RandomNumberGenerator.GetBytes(100_000 + i);
            await File.WriteAllBytesAsync(plain, plaintexts[relative]);
            _rekey.Run("file", "encrypt", "--key", Key, "--context", "db=app", "--in", plain, "--out", Path.Combine(set, relative)).Ok();
        }

        await File.WriteAllTextAsync(Path.Combine(set, "README.rkf"), "not an encrypted file");
        _rekey.Run("source", "add", "backups", "--kind", "files", "--connection", set, "--keys", "backups/*").Ok();
        _rekey.Run("key", "rotate", Key).Ok();

        // Throttled so a kill lands while files are being moved; each kill leaves every file readable.
        for (var trial = 0; trial < 3; trial++)
        {
            using var job = _rekey.Start("rewrap", "start", "--key", Key, "--source", "backups", "--batch-size", "1", "--throttle", "4", "--concurrency", "1");
            await Task.Delay(TimeSpan.FromMilliseconds(700 + Random.Shared.Next(900)));
            job.Kill();
            await job.WaitForExitAsync();
            foreach (var (relative, plaintext) in plaintexts)
            {
                var version = _rekey.FileVersion(Path.Combine(set, relative));
                Assert.True(version is 1 or 2, $"{relative}: version {version}");
                _rekey.Run("file", "decrypt", "--context", "db=app", "--in", Path.Combine(set, relative), "--out", Path.Combine(root, "check")).Ok();
                Assert.Equal(plaintext, await File.ReadAllBytesAsync(Path.Combine(root, "check")));
            }
        }

        _rekey.Run("rewrap", "start", "--key", Key, "--source", "backups").Ok();
        Assert.All(plaintexts.Keys, relative => Assert.Equal(2, _rekey.FileVersion(Path.Combine(set, relative))));
        using (var inventory = JsonDocument.Parse(_rekey.Run("rewrap", "inventory", Key, "--format", "json").Ok().Stdout))
        {
            var counts = inventory.RootElement.EnumerateArray().ToDictionary(c => c.GetProperty("version").GetInt32(), c => c.GetProperty("count").GetInt64());
            Assert.Equal(8, counts[2]);
            Assert.Equal(0, counts.GetValueOrDefault(1));
        }

        // Nothing is left under version 1: it can go. Version 2 still protects every backup: it cannot.
        foreach (var step in new[] { "disable", "schedule-destroy", "destroy" })
        {
            _rekey.Run("key", step, Key, "1").Ok();
        }

        _rekey.Run("key", "rotate", Key).Ok();
        foreach (var step in new[] { "disable", "schedule-destroy" })
        {
            _rekey.Run("key", step, Key, "2").Ok();
        }

        var refused = _rekey.Run("key", "destroy", Key, "2");
        Assert.Equal(4, refused.ExitCode);
        Assert.Contains("counted 8 values", refused.Stderr, StringComparison.Ordinal);
    }

    public void Dispose() => _rekey.Dispose();

}
