using System.Globalization;
using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Rekey.Envelope;
using Rekey.Keys;
using Rekey.Root;
using Rekey.Storage.Sqlite;

namespace Rekey.Benchmarks;

/// <summary>Envelope operations beside raw AES-GCM and ASP.NET Core Data Protection, in one run.</summary>
internal static class EnvelopeBenchmark
{
    public static async Task<int> RunAsync(bool quick)
    {
        var measure = quick ? new Measure(TimeSpan.FromMilliseconds(300), 3) : new Measure(TimeSpan.FromSeconds(2), 5);

        var dir = Directory.CreateTempSubdirectory("rekey-bench-").FullName;
        try
        {
            await using var store = await SqliteKeyStore.OpenAsync(Path.Combine(dir, "rekey.db"), changePollInterval: TimeSpan.Zero);
            using var root = LocalRootKeyProvider.CreateKeyFile(Path.Combine(dir, "root.key"));
            await using var service = new RekeyService(store, root, new RekeyServiceOptions { CacheTtl = TimeSpan.FromMinutes(10) });
            var key = KeyName.Parse("bench/records");
            await service.CreateKeyAsync(key);
            var context = EncryptionContext.From("tenant=bench;table=records;id=1");
            var protector = DataProtectionProvider.Create(new DirectoryInfo(Path.Combine(dir, "dp"))).CreateProtector("bench.records");

            var rows = new List<(string Name, double Rate)>();
            void Add(string name, double rate)
            {
                rows.Add((name, rate));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-34} {rate,14:N0} ops/s"));
            }

            foreach (var size in new[] { 256, 4096 })
            {
                var plaintext = RandomNumberGenerator.GetBytes(size);
                var envelope = await service.EncryptAsync(key, plaintext, context);
                var protectedPayload = protector.Protect(plaintext);
                var gcmKey = RandomNumberGenerator.GetBytes(32);
                using var gcm = new AesGcm(gcmKey, 16);
                var nonce = new byte[12];
                var ct = new byte[size];
                var tag = new byte[16];

                Add($"envelope encrypt {size} B", measure.OpsPerSecond(async () => await service.EncryptAsync(key, plaintext, context)));
                Add($"envelope decrypt {size} B", measure.OpsPerSecond(async () => await service.DecryptAsync(key, envelope, context)));
                Add($"raw AesGcm encrypt {size} B", measure.OpsPerSecond(() =>
                {
                    nonce[0]++;
                    gcm.Encrypt(nonce, plaintext, ct, tag);
                    return ValueTask.CompletedTask;
                }));
                // Every envelope has a fresh data key: the framework pays for a new OpenSSL context per key.
                var freshKey = RandomNumberGenerator.GetBytes(32);
                Add($"fresh-key AesGcm (framework) {size} B", measure.OpsPerSecond(() =>
                {
                    using var once = new AesGcm(freshKey, 16);
                    once.Encrypt(nonce, plaintext, ct, tag);
                    return ValueTask.CompletedTask;
                }));
                Add($"fresh-key AES-NI GCM {size} B", measure.OpsPerSecond(() =>
                {
                    Rekey.Crypto.AesGcmNi.Encrypt(freshKey, nonce, plaintext, ReadOnlySpan<byte>.Empty, ct, tag);
                    return ValueTask.CompletedTask;
                }));
                Add($"DataProtection Protect {size} B", measure.OpsPerSecond(() =>
                {
                    protector.Protect(plaintext);
                    return ValueTask.CompletedTask;
                }));
                Add($"DataProtection Unprotect {size} B", measure.OpsPerSecond(() =>
                {
                    protector.Unprotect(protectedPayload);
                    return ValueTask.CompletedTask;
                }));
            }

            var old = await service.EncryptAsync(key, RandomNumberGenerator.GetBytes(256), context);
            await service.RotateAsync(key);
            Add("envelope rewrap (v1 -> v2)", measure.OpsPerSecond(async () => await service.RewrapAsync(key, old)));

            double Rate(string name) => rows.Single(r => r.Name == name).Rate;
            var checks = new (string What, double Ratio, double Target)[]
            {
                ("encrypt 256 B / DataProtection Protect", Rate("envelope encrypt 256 B") / Rate("DataProtection Protect 256 B"), 1.5),
                ("decrypt 256 B / DataProtection Unprotect", Rate("envelope decrypt 256 B") / Rate("DataProtection Unprotect 256 B"), 2.0),
                ("encrypt 4096 B / DataProtection Protect", Rate("envelope encrypt 4096 B") / Rate("DataProtection Protect 4096 B"), 0),
                ("decrypt 4096 B / DataProtection Unprotect", Rate("envelope decrypt 4096 B") / Rate("DataProtection Unprotect 4096 B"), 0),
                ("encrypt 256 B / raw AesGcm", Rate("envelope encrypt 256 B") / Rate("raw AesGcm encrypt 256 B"), 0),
                ("encrypt 4096 B / raw AesGcm", Rate("envelope encrypt 4096 B") / Rate("raw AesGcm encrypt 4096 B"), 0),
                ("fresh-key GCM 256 B: AES-NI / framework", Rate("fresh-key AES-NI GCM 256 B") / Rate("fresh-key AesGcm (framework) 256 B"), 1.0),
                ("fresh-key GCM 4096 B: AES-NI / framework", Rate("fresh-key AES-NI GCM 4096 B") / Rate("fresh-key AesGcm (framework) 4096 B"), 0),
            };

            Console.WriteLine();
            var failed = false;
            foreach (var (what, ratio, target) in checks)
            {
                var verdict = target == 0 ? string.Empty : ratio >= target ? $"  (target >= {target:0.0}x: met)" : $"  (target >= {target:0.0}x: MISSED)";
                failed |= target > 0 && ratio < target;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what,-44} {ratio,6:0.00}x{verdict}"));
            }

            var rewrap = Rate("envelope rewrap (v1 -> v2)");
            failed |= rewrap < 150_000;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"rewrap ops/s on one core",-44} {rewrap,6:N0}  (target >= 150,000: {(rewrap >= 150_000 ? "met" : "MISSED")})"));
            return failed ? 1 : 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
