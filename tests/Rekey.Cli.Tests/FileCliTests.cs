using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Npgsql;
using Rekey.Testing;

namespace Rekey.Cli.Tests;

/// <summary>
/// <c>rekey file</c> as people use it: a real pg_dump piped through encryption, a rotation and a
/// header re-wrap, then pg_restore; and SIGKILLs at random moments of a header re-wrap.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class FileCliTests : IDisposable
{
    private const string Key = "backups/db";
    private readonly RekeyProcess _rekey = new();

    [Fact]
    public async Task ANightlyPgDump_EncryptedThroughAPipe_SurvivesARotation_AndRestoresTheSameRows()
    {
        await using var source = await PostgresDatabase.CreateAsync();
        await using var target = await PostgresDatabase.CreateAsync();
        await source.ExecuteAsync("CREATE TABLE public.patients (id bigint PRIMARY KEY, name text NOT NULL, notes bytea); INSERT INTO public.patients SELECT i, 'patient ' || i, sha256(i::text::bytea) FROM generate_series(1, 20000) i;");
        _rekey.Run("init").Ok();
        _rekey.Run("key", "create", Key).Ok();
        var backup = Path.Combine(Path.GetDirectoryName(_rekey.StoreDir)!, "app.rkf");

        Shell($"{Bin("pg_dump")} -Fc {Connection(source)} | {Rekey()} file encrypt --key {Key} --context 'db=app' > '{backup}'");
        Assert.Contains("version 1", _rekey.Run("file", "inspect", backup).Ok().Stdout, StringComparison.Ordinal);

        _rekey.Run("key", "rotate", Key).Ok();
        Assert.Contains("version 1 -> 2", _rekey.Run("file", "rewrap", backup).Ok().Stdout, StringComparison.Ordinal);
        using (var info = JsonDocument.Parse(_rekey.Run("file", "inspect", backup, "--format", "json").Ok().Stdout))
        {
            Assert.Equal(2, info.RootElement.GetProperty("version").GetInt32());
        }

        // Version 1 can go: the backup no longer needs it.
        _rekey.Run("key", "disable", Key, "1").Ok();
        Shell($"{Rekey()} file decrypt --context 'db=app' < '{backup}' | {Bin("pg_restore")} --no-owner -d {Connection(target)}");
        Assert.Equal(20000L, await target.ExecuteAsync("SELECT count(*) FROM public.patients;"));
        Assert.Equal(
            await source.ExecuteAsync("SELECT md5(string_agg(id || name || encode(notes, 'hex'), ',' ORDER BY id)) FROM public.patients;"),
            await target.ExecuteAsync("SELECT md5(string_agg(id || name || encode(notes, 'hex'), ',' ORDER BY id)) FROM public.patients;"));

        // The wrong context restores nothing: exit 6.
        Assert.Equal(6, _rekey.Run("file", "decrypt", "--context", "db=other", "--in", backup).ExitCode);
    }

    [Fact]
    public async Task AHeaderRewrapKilledAtAnyMoment_LeavesAFileThatDecryptsUnderTheOldOrTheNewVersion()
    {
        _rekey.Run("init").Ok();
        _rekey.Run("key", "create", Key).Ok();
        var plaintext = RandomNumberGenerator.GetBytes(3_000_000);
        var plainPath = Path.Combine(Path.GetDirectoryName(_rekey.StoreDir)!, "plain.bin");
        var file = Path.Combine(Path.GetDirectoryName(_rekey.StoreDir)!, "b.rkf");
        await File.WriteAllBytesAsync(plainPath, plaintext);
        _rekey.Run("file", "encrypt", "--key", Key, "--context", "db=app", "--in", plainPath, "--out", file).Ok();

        // How long a whole run takes here, so the kills spread over all of it.
        var clock = Stopwatch.StartNew();
        _rekey.Run("key", "rotate", Key).Ok();
        _rekey.Run("file", "rewrap", file).Ok();
        var span = clock.Elapsed / 2;

        var outcomes = new Dictionary<string, int>();
        for (var trial = 0; trial < 12; trial++)
        {
            _rekey.Run("key", "rotate", Key).Ok();
            var before = _rekey.FileVersion(file);
            using var process = _rekey.Start("file", "rewrap", file);
            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * span.TotalMilliseconds * 1.2));
            process.Kill();
            await process.WaitForExitAsync();

            var after = _rekey.FileVersion(file);
            Assert.True(after == before || after == before + 1, $"trial {trial}: version {before} became {after}");
            outcomes[after == before ? "old" : "new"] = outcomes.GetValueOrDefault(after == before ? "old" : "new") + 1;
            var decrypted = _rekey.Run("file", "decrypt", "--context", "db=app", "--in", file, "--out", plainPath + ".out").Ok();
            Assert.Equal(plaintext, await File.ReadAllBytesAsync(plainPath + ".out"));

            // Whatever the kill left, a finished re-wrap moves it on.
            _rekey.Run("file", "rewrap", file).Ok();
            Assert.Equal(before + 1, _rekey.FileVersion(file));
        }

        Console.WriteLine($"header re-wrap kill trials: {string.Join(", ", outcomes.Select(o => $"{o.Value} {o.Key}"))}");
    }

    [Fact]
    public async Task ThroughAServer_TheDataStaysHere_AndOnlyTheDataKeyTravels()
    {
        _rekey.Run("init").Ok();
        _rekey.Run("key", "create", Key).Ok();
        var options = new global::Rekey.Server.Hosting.RekeyServerOptions { Store = Path.Combine(_rekey.StoreDir, "rekey.db"), RootKeyFile = Path.Combine(_rekey.StoreDir, "root.key"), Listen = "http://127.0.0.1:0" };
        await using var host = await global::Rekey.Server.Hosting.RekeyServerHost.StartAsync(options);
        var (_, token) = await host.IssueTokenAsync("backup job", new HashSet<global::Rekey.Access.Role> { global::Rekey.Access.Role.Application, global::Rekey.Access.Role.Operator }, [global::Rekey.Access.KeyPattern.Parse("backups/*")]);
        _rekey.Environment["REKEY_ADDR"] = host.Address.ToString();
        _rekey.Environment["REKEY_TOKEN"] = token;

        var plaintext = RandomNumberGenerator.GetBytes(700_000);
        var file = Path.Combine(Path.GetDirectoryName(_rekey.StoreDir)!, "remote.rkf");
        await File.WriteAllBytesAsync(file, _rekey.Run(plaintext, "file", "encrypt", "--key", Key, "--context", "db=app").Ok().StdoutBytes);
        _rekey.Run("key", "rotate", Key).Ok();
        Assert.Contains("version 1 -> 2", _rekey.Run("file", "rewrap", file).Ok().Stdout, StringComparison.Ordinal);
        Assert.Equal(plaintext, _rekey.Run(await File.ReadAllBytesAsync(file), "file", "decrypt", "--context", "db=app").Ok().StdoutBytes);

        // The server was asked for one data key, one re-wrap and one decryption (of the 32-byte data
        // key): the 700 KB were encrypted and decrypted here, not sent there.
        using var http = new HttpClient { BaseAddress = host.Address };
        var (_, scraper) = await host.IssueTokenAsync("prometheus", new HashSet<global::Rekey.Access.Role> { global::Rekey.Access.Role.Operator }, [global::Rekey.Access.KeyPattern.All]);
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", scraper);
        var metrics = await http.GetStringAsync("/metrics");
        foreach (var operation in new[] { "datakey", "rewrap", "decrypt" })
        {
            Assert.Matches($"rekey_crypto_operations_total\\{{[^}}]*operation=\"{operation}\"[^}}]*\\}} 1\n", metrics);
        }

        Assert.DoesNotContain("operation=\"encrypt\"", metrics, StringComparison.Ordinal);
    }

    public void Dispose() => _rekey.Dispose();

    private static string Connection(PostgresDatabase database)
    {
        var parsed = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        return $"'host={parsed.Host} port={parsed.Port} user={parsed.Username} dbname={parsed.Database}'";
    }

    private static string Bin(string tool) =>
        new[] { "/usr/lib/postgresql/15/bin", "/usr/bin" }.Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException($"{tool} is not installed (apt-get install postgresql-15; ./scripts/test.sh does it).");

    private static string Rekey() => $"dotnet '{Path.Combine(AppContext.BaseDirectory, "rekey.dll")}'";

    private void Shell(string script)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(_rekey.StoreDir)! };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("set -euo pipefail; " + script);
        foreach (var (name, value) in _rekey.Environment)
        {
            start.Environment[name] = value;
        }

        start.Environment["REKEY_DIR"] = _rekey.StoreDir;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {script}\n{stderr}");
    }
}
