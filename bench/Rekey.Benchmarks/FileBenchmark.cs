using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Rekey.Envelope;
using Rekey.Files;
using Rekey.Keys;
using Rekey.Root;
using Rekey.Storage.Sqlite;

namespace Rekey.Benchmarks;

/// <summary>
/// Encrypted files, in one run: the baseline is raw AES-256-GCM over the same 64 KiB pieces on one
/// core (what the format cannot beat on one core); then the file streams encrypting and decrypting
/// 1 GiB in process, the managed memory they allocate, and a header re-wrap of a 1 MiB and a 1 GiB
/// file. Each figure is the median of several runs.
/// </summary>
internal static class FileBenchmark
{
    public static async Task<int> RunAsync(bool quick)
    {
        long size = quick ? 128L << 20 : 1L << 30;
        var runs = quick ? 3 : 5;
        var dir = Directory.CreateTempSubdirectory("rekey-bench-files-").FullName;
        try
        {
            var key = KeyName.Parse("backups/db");
            var context = EncryptionContext.From("db=app");
            await using var store = await SqliteKeyStore.OpenAsync(Path.Combine(dir, "rekey.db"), changePollInterval: TimeSpan.Zero);
            using var root = LocalRootKeyProvider.CreateKeyFile(Path.Combine(dir, "root.key"));
            await using var service = new RekeyService(store, root);
            await service.CreateKeyAsync(key);
            var chunk = RandomNumberGenerator.GetBytes(1 << 20);
            Console.WriteLine($"Files: {size >> 20} MiB, 64 KiB segments, medians of {runs} runs");

            var raw = Median(runs, () => Raw(size));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  raw AES-256-GCM, 64 KiB pieces, one core: {raw:N0} MiB/s (baseline)"));

            // The format's own cost: plaintext from memory, the file to nowhere, and back from memory.
            var memory = Median(runs, () =>
            {
                var watch = Stopwatch.StartNew();
                using (var encryptor = RekeyFileStreams.CreateEncryptorAsync(Stream.Null, service, key, context, leaveOpen: true).GetAwaiter().GetResult())
                {
                    for (long done = 0; done < size; done += chunk.Length)
                    {
                        encryptor.Write(chunk);
                    }
                }

                return size / 1048576.0 / watch.Elapsed.TotalSeconds;
            });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  rekey file encrypt, in process, memory to nowhere: {memory:N0} MiB/s ({memory / raw:0.00}x raw)"));

            var path = Path.Combine(dir, "big.rkf");
            long allocated = 0;
            var encrypt = Median(runs, () =>
            {
                var before = GC.GetAllocatedBytesForCurrentThread();
                var watch = Stopwatch.StartNew();
                using (var output = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
                using (var encryptor = RekeyFileStreams.CreateEncryptorAsync(output, service, key, context, leaveOpen: true).GetAwaiter().GetResult())
                {
                    for (long done = 0; done < size; done += chunk.Length)
                    {
                        encryptor.Write(chunk);
                    }
                }

                var rate = size / 1048576.0 / watch.Elapsed.TotalSeconds;
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                return rate;
            });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  rekey file encrypt, in process, to a file: {encrypt:N0} MiB/s ({encrypt / raw:0.00}x raw); {allocated / 1024.0:N0} KiB allocated for the whole {size >> 20} MiB"));

            var buffer = new byte[1 << 20];
            var decrypt = Median(runs, () =>
            {
                var watch = Stopwatch.StartNew();
                using var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
                using var decryptor = RekeyFileStreams.OpenDecryptorAsync(input, service, context).GetAwaiter().GetResult();
                while (decryptor.Read(buffer) > 0)
                {
                }

                return size / 1048576.0 / watch.Elapsed.TotalSeconds;
            });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  rekey file decrypt, in process, from a file: {decrypt:N0} MiB/s ({decrypt / raw:0.00}x raw)"));
            var whole = await File.ReadAllBytesAsync(path);
            var fromMemory = Median(runs, () =>
            {
                var watch = Stopwatch.StartNew();
                using var decryptor = RekeyFileStreams.OpenDecryptorAsync(new MemoryStream(whole, writable: false), service, context).GetAwaiter().GetResult();
                while (decryptor.Read(buffer) > 0)
                {
                }

                return size / 1048576.0 / watch.Elapsed.TotalSeconds;
            });
            whole = null;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  rekey file decrypt, in process, memory to memory: {fromMemory:N0} MiB/s ({fromMemory / raw:0.00}x raw)"));

            var small = Path.Combine(dir, "small.rkf");
            await using (var output = File.Create(small))
            await using (var encryptor = await RekeyFileStreams.CreateEncryptorAsync(output, service, key, context))
            {
                await encryptor.WriteAsync(chunk);
            }

            foreach (var (name, file) in new[] { ("1 MiB", small), ($"{size >> 20} MiB", path) })
            {
                var times = new List<double>();
                for (var i = 0; i < 9; i++)
                {
                    await service.RotateAsync(key);
                    var watch = Stopwatch.StartNew();
                    await RekeyFileStreams.RewrapFileAsync(file, service);
                    times.Add(watch.Elapsed.TotalMilliseconds);
                }

                times.Sort();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  header re-wrap of a {name} file (fsync included): median {times[times.Count / 2]:0.00} ms"));
            }

            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static double Raw(long size)
    {
        var key = RandomNumberGenerator.GetBytes(32);
        using var aes = new AesGcm(key, 16);
        var plain = RandomNumberGenerator.GetBytes(FileLayout.SegmentSize);
        var sealedSegment = new byte[FileLayout.SegmentSize];
        var tag = new byte[16];
        var nonce = new byte[12];
        var watch = Stopwatch.StartNew();
        for (long i = 0, n = size / FileLayout.SegmentSize; i < n; i++)
        {
            FileLayout.Nonce(nonce, i, false);
            aes.Encrypt(nonce, plain, sealedSegment, tag);
        }

        return size / 1048576.0 / watch.Elapsed.TotalSeconds;
    }

    private static double Median(int runs, Func<double> run)
    {
        run();
        var rates = Enumerable.Range(0, runs).Select(_ => run()).Order().ToArray();
        return rates[runs / 2];
    }
}
