using System.Text;
using System.Text.Json;
using Rekey.Testing;

namespace Rekey.Cli.Tests;

/// <summary>
/// <c>rekey root migrate</c> moving a store from its key file to the SoftHSM2 token, then to
/// AWS KMS (moto), then back to the key file, with the migration SIGKILLed at random moments and
/// resumed, on SQLite and on PostgreSQL.
/// </summary>
[Collection(nameof(SoftHsm))]
public sealed class RootMigrationCliTests(SoftHsm hsm, MotoServer moto) : IClassFixture<MotoServer>, IDisposable
{
    private const int Keys = 24;
    private readonly RekeyProcess _rekey = new();

    [Fact]
    public Task Sqlite_FileToHsmToKmsAndBack_SurvivesKills() => JourneyAsync(null);

    [Fact]
    public async Task Postgres_FileToHsmToKmsAndBack_SurvivesKills()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await JourneyAsync(database.ConnectionString);
    }

    [Fact]
    public void InitRootedInKms_EncryptsAndDecrypts_AndStatusNamesTheKmsKey()
    {
        var init = _rekey.Run("init", "--root", moto.Spec).Ok();
        Assert.Contains("root key in AWS KMS (" + MotoServer.Alias + ")", init.Stdout, StringComparison.Ordinal);
        _rekey.Run("key", "create", "tenants/t1/k").Ok();
        var envelope = _rekey.Run("a record"u8.ToArray(), "encrypt", "--key", "tenants/t1/k", "--context", "id=1").Ok().StdoutBytes;
        Assert.Equal("a record", _rekey.Run(envelope, "decrypt", "--context", "id=1").Ok().Stdout);
        var only = Assert.Single(JsonDocument.Parse(_rekey.Run("root", "status", "--format", "json").Ok().Stdout).RootElement.EnumerateArray());
        Assert.StartsWith("awskms:", only.GetProperty("root_key_id").GetString(), StringComparison.Ordinal);
        Assert.Equal("primary", only.GetProperty("role").GetString());
    }

    public void Dispose() => _rekey.Dispose();

    private async Task JourneyAsync(string? postgres)
    {
        _rekey.Environment["SOFTHSM2_CONF"] = hsm.ConfigPath;
        _rekey.Environment["REKEY_CLI_PIN"] = SoftHsm.Pin;
        if (postgres is null)
        {
            _rekey.Run("init").Ok();
        }
        else
        {
            _rekey.Run("init", "--store", postgres).Ok();
        }

        var envelopes = new List<byte[]>();
        for (var i = 0; i < Keys; i++)
        {
            _rekey.Run("key", "create", $"tenants/t{i}/k").Ok();
            envelopes.Add(_rekey.Run(Encoding.UTF8.GetBytes($"record {i}"), "encrypt", "--key", $"tenants/t{i}/k", "--context", $"id={i}").Ok().StdoutBytes);
        }

        var keyFile = "file:" + Path.Combine(_rekey.StoreDir, "root.key");
        var label = "migrate-" + Guid.NewGuid().ToString("N")[..8];
        var hsmRoot = $"pkcs11:library={hsm.Library};token={SoftHsm.Token};key={label};pin-env=REKEY_CLI_PIN";
        _rekey.Run("root", "create-key", "--root", hsmRoot).Ok();

        var seed = Environment.TickCount;
        var random = new Random(seed);
        var kills = 0;
        foreach (var target in new[] { hsmRoot, moto.Spec, keyFile })
        {
            for (var kill = 0; kill < 2; kill++)
            {
                kills += KillMidway(random, seed, "root", "migrate", "--to", target, "--batch-size", "1", "--pause", "25ms") ? 1 : 0;
                var status = _rekey.Run("root", "status", "--format", "json");
                Assert.True(status.ExitCode == 0, $"seed {seed}: after a kill, a secret is under a root that is not configured: {status.Stdout}{status.Stderr}");
                var sample = random.Next(Keys);
                Assert.Equal($"record {sample}", _rekey.Run(envelopes[sample], "decrypt", "--context", $"id={sample}").Ok().Stdout);
            }

            var done = _rekey.Run("root", "migrate", "--to", target, "--format", "json").Ok();
            using var result = JsonDocument.Parse(done.Stdout);
            Assert.Empty(result.RootElement.GetProperty("previous_roots").EnumerateArray());
            var roots = JsonDocument.Parse(_rekey.Run("root", "status", "--format", "json").Ok().Stdout).RootElement.EnumerateArray().ToList();
            var only = Assert.Single(roots);
            Assert.Equal("primary", only.GetProperty("role").GetString());
            Assert.Equal(Keys, only.GetProperty("key_versions").GetInt64());
        }

        Assert.True(kills >= 3, $"seed {seed}: only {kills} of 6 migrations were killed before they finished");
        for (var i = 0; i < Keys; i++)
        {
            Assert.Equal($"record {i}", _rekey.Run(envelopes[i], "decrypt", "--context", $"id={i}").Ok().Stdout);
        }

        _rekey.Run("audit", "verify").Ok();
        var audit = _rekey.Run("audit", "list", "--format", "json", "--limit", "1000").Ok().Stdout;
        Assert.Contains("root.migrate", audit, StringComparison.Ordinal);
        Assert.Contains("root.release", audit, StringComparison.Ordinal);
        Assert.DoesNotContain(SoftHsm.Pin, File.ReadAllText(Path.Combine(_rekey.StoreDir, "rekey.json")), StringComparison.Ordinal);
    }

    // Starts a migration and SIGKILLs it after a random moment (or lets it finish if it is quicker).
    private bool KillMidway(Random random, int seed, params string[] args)
    {
        using var process = _rekey.Start(args);
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        var after = random.Next(300, 1500);
        if (!process.WaitForExit(after))
        {
            process.Kill(entireProcessTree: true);
            Assert.True(process.WaitForExit(10_000), $"seed {seed}: the killed migration did not end");
            return true;
        }

        Assert.True(process.ExitCode == 0, $"seed {seed}: the migration failed before it was killed (exit {process.ExitCode})");
        return false;
    }
}
