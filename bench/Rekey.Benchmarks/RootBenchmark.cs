using System.Diagnostics;
using Rekey.Envelope;
using Rekey.Keys;
using Rekey.Providers.AwsKms;
using Rekey.Providers.Pkcs11;
using Rekey.Root;
using Rekey.Storage.Sqlite;
using Rekey.Testing;

namespace Rekey.Benchmarks;

/// <summary>
/// The three roots in one run, each over its own SQLite store: envelope encrypt and decrypt of a
/// 256-byte record with a warm cache (the root is not called; ratio against the file root), and,
/// with 1,000 keys, the time from opening the store to the first encrypt after a restart (only the
/// one key used is unwrapped). The PKCS#11 root is a SoftHSM2 token made for the run; the KMS root
/// a key in moto_server on loopback.
/// </summary>
internal static class RootBenchmark
{
    private const int Keys = 1000;

    public static async Task<int> RunAsync(bool quick)
    {
        var measure = quick ? new Measure(TimeSpan.FromMilliseconds(300), 3) : new Measure(TimeSpan.FromSeconds(2), 5);
        using var hsm = new SoftHsm();
        using var moto = new MotoServer();
        var roots = new (string Name, Func<Task<IRootKeyProvider>> Open)[]
        {
            ("file", () => Task.FromResult<IRootKeyProvider>(LocalRootKeyProvider.OpenKeyFile(FileRoot))),
            ("pkcs11 (SoftHSM2)", () => Task.FromResult<IRootKeyProvider>(Pkcs11RootKeyProvider.Open(hsm.Options()))),
            ("awskms (moto)", async () => await AwsKmsRootKeyProvider.OpenAsync(moto.Options())),
        };

        var dir = Directory.CreateTempSubdirectory("rekey-bench-roots-").FullName;
        FileRoot = Path.Combine(dir, "root.key");
        LocalRootKeyProvider.CreateKeyFile(FileRoot).Dispose();
        try
        {
            Console.WriteLine($"Roots: 256-byte records, warm cache; first encrypt after a restart with {Keys:N0} keys");
            double? fileEncrypt = null, fileDecrypt = null;
            foreach (var (name, open) in roots)
            {
                var path = Path.Combine(dir, name.Split(' ')[0] + ".db");
                var record = new byte[256];
                var context = EncryptionContext.From("id=1");
                var key = KeyName.Parse("bench/k0000");
                double encrypt, decrypt;
                TimeSpan created;
                await using (var store = await SqliteKeyStore.OpenAsync(path, changePollInterval: TimeSpan.Zero))
                await using (var root = await open())
                await using (var service = new RekeyService(store, root, new RekeyServiceOptions { CacheTtl = TimeSpan.FromMinutes(10) }))
                {
                    var setup = Stopwatch.StartNew();
                    for (var i = 0; i < Keys; i++)
                    {
                        await service.CreateKeyAsync(KeyName.Parse($"bench/k{i:D4}"));
                    }

                    created = setup.Elapsed;

                    var envelope = await service.EncryptAsync(key, record, context);
                    encrypt = measure.OpsPerSecond(async () => await service.EncryptAsync(key, record, context));
                    decrypt = measure.OpsPerSecond(async () => await service.DecryptAsync(key, envelope, context));
                }

                // A restart: a new process would open the store and root and encrypt at once.
                var restart = Stopwatch.StartNew();
                await using (var store = await SqliteKeyStore.OpenAsync(path, changePollInterval: TimeSpan.Zero))
                await using (var root = await open())
                await using (var service = new RekeyService(store, root))
                {
                    await service.EncryptAsync(key, record, context);
                }

                var first = restart.Elapsed;
                fileEncrypt ??= encrypt;
                fileDecrypt ??= decrypt;
                Console.WriteLine($"  {name,-18} encrypt {encrypt,10:N0} ops/s ({encrypt / fileEncrypt.Value:F2}x file)   decrypt {decrypt,10:N0} ops/s ({decrypt / fileDecrypt.Value:F2}x file)   open + first encrypt {first.TotalMilliseconds,7:F1} ms   ({Keys:N0} keys created in {created.TotalSeconds:F1} s)");
            }

            Console.WriteLine("  (target: each root's warm-cache throughput at least 0.95x the file root's)");

            // Migration rate: the file root's store, moved to another key file (the baseline), then
            // into the token, then into KMS, then back to the first key file; each hop unwraps with
            // the root it leaves and wraps with the one it joins.
            Console.WriteLine($"Root migration of {Keys:N0} KEKs, batches of 100, into each root (unwrapped by the previous one)");
            var secondFile = Path.Combine(dir, "second.key");
            LocalRootKeyProvider.CreateKeyFile(secondFile).Dispose();
            var hops = new (string Name, Func<Task<IRootKeyProvider>> Open)[]
            {
                ("file -> file", () => Task.FromResult<IRootKeyProvider>(LocalRootKeyProvider.OpenKeyFile(secondFile))),
                ("file -> pkcs11", roots[1].Open),
                ("pkcs11 -> awskms", roots[2].Open),
                ("awskms -> file", roots[0].Open),
            };
            var from = await roots[0].Open();
            double? baseline = null;
            await using (var store = await SqliteKeyStore.OpenAsync(Path.Combine(dir, "file.db"), changePollInterval: TimeSpan.Zero))
            {
                foreach (var (name, open) in hops)
                {
                    var to = await open();
                    var result = await new RootMigrator(store, new RootKeyRing(to, from)).RunAsync(new RootMigrationOptions { BatchSize = 100 });
                    var rate = result.Moved / result.Elapsed.TotalSeconds;
                    baseline ??= rate;
                    Console.WriteLine($"  {name,-18} {result.Moved,6:N0} KEKs in {result.Elapsed.TotalSeconds,6:F2} s   {rate,8:N0} KEKs/s ({rate / baseline.Value:F2}x file -> file)");
                    await from.DisposeAsync();
                    from = to;
                }
            }

            await from.DisposeAsync();
            return 0;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string FileRoot { get; set; } = string.Empty;
}
