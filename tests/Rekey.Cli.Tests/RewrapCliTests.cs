using System.Text.Json;
using Microsoft.Data.Sqlite;
using Rekey.Envelope;
using Rekey.Keys;
using Rekey.Server.Hosting;

namespace Rekey.Cli.Tests;

/// <summary><c>rekey rewrap</c> as a user runs it, on a local store and against a server.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class RewrapCliTests : IDisposable
{
    private const string Key = "tenants/h42/patients";
    private readonly RekeyProcess _rekey = new();

    [Fact]
    public async Task Local_StartRunsWithProgress_ThenStatusFailuresAndInventory()
    {
        _rekey.Run("init").Ok();
        _rekey.Run("key", "create", Key).Ok();
        var table = Path.Combine(Path.GetDirectoryName(_rekey.StoreDir)!, "app.db");
        await using (var open = await StoreHome.Open(_rekey.StoreDir).OpenServiceAsync(null, CancellationToken.None))
        {
            await FillAsync(open.Service, table, 500);
        }

        _rekey.Run("key", "rotate", Key).Ok();
        var run = _rekey.Run("rewrap", "start", "--key", Key, "--kind", "sqlite", "--connection", table, "--table", "patients", "--column", "ssn", "--batch-size", "50", "--verify", "sample:20", "--context-template", "id={id}").Ok();
        Assert.Contains("rows/s", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("Completed", run.Stdout, StringComparison.Ordinal);

        var jobs = JsonDocument.Parse(_rekey.Run("rewrap", "status", "--format", "json").Ok().Stdout).RootElement;
        var job = jobs[0];
        Assert.Equal("Completed", job.GetProperty("state").GetString());
        Assert.Equal(499, job.GetProperty("rewrapped").GetInt64());
        Assert.Equal(1, job.GetProperty("failed").GetInt64());
        var id = job.GetProperty("id").GetString()!;

        var failures = _rekey.Run("rewrap", "failures", id).Ok().Stdout;
        Assert.Contains("malformed", failures, StringComparison.Ordinal);
        var inventory = JsonDocument.Parse(_rekey.Run("rewrap", "inventory", Key, "--format", "json").Ok().Stdout).RootElement;
        Assert.Equal(2, inventory[0].GetProperty("version").GetInt32());
        Assert.Equal(499, inventory[0].GetProperty("count").GetInt64());

        Assert.Equal(3, _rekey.Run("rewrap", "status", "rw_000000000000").ExitCode);
        Assert.Equal(4, _rekey.Run("rewrap", "pause", id).ExitCode);
        var injected = _rekey.Run("rewrap", "start", "--key", Key, "--kind", "sqlite", "--connection", table, "--table", "patients;drop table patients", "--column", "ssn");
        Assert.Equal(2, injected.ExitCode);
        Assert.Contains("not a plain identifier", injected.Stderr, StringComparison.Ordinal);

        // The same table as a registered source, locally; the store itself is refused as one.
        _rekey.Run("source", "add", "app", "--kind", "sqlite", "--connection", table, "--table", "patients", "--column", "ssn", "--keys", Key).Ok();
        _rekey.Run("key", "rotate", Key).Ok();
        var registered = JsonDocument.Parse(_rekey.Run("rewrap", "start", "--key", Key, "--source", "app", "--format", "json").Ok().Stdout).RootElement;
        Assert.Equal(499, registered.GetProperty("rewrapped").GetInt64());
        Assert.Equal("source:app", registered.GetProperty("source").GetString());
        var own = _rekey.Run("source", "add", "own", "--kind", "sqlite", "--connection", Path.Combine(_rekey.StoreDir, "rekey.db"), "--table", "tokens", "--id-type", "text", "--column", "name", "--keys", "*");
        Assert.Equal(2, own.ExitCode);
        Assert.Contains("can never be a Rekey store", own.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, _rekey.Run("rewrap", "start", "--key", Key, "--source", "app", "--kind", "sqlite").ExitCode);
        _rekey.Run("source", "remove", "app").Ok();
        Assert.Equal(3, _rekey.Run("source", "show", "app").ExitCode);
    }

    [Fact]
    public async Task Remote_TheServerRunsTheJob_AndTheCliWatches()
    {
        var (host, token, folder) = await DevServer.StartAsync("http://127.0.0.1:0");
        try
        {
            var table = Path.Combine(folder, "app.db");
            await host.Service.CreateKeyAsync(KeyName.Parse(Key));
            await FillAsync(host.Service, table, 200);
            await host.Service.RotateAsync(KeyName.Parse(Key));
            _rekey.Environment["REKEY_ADDR"] = host.Address.ToString();
            _rekey.Environment["REKEY_TOKEN"] = token;
            // A connection cannot travel to the server: the table is registered first, then named.
            var refused = _rekey.Run("rewrap", "start", "--key", Key, "--kind", "sqlite", "--connection", table, "--table", "patients", "--column", "ssn");
            Assert.Equal(2, refused.ExitCode);
            Assert.Contains("rekey source add", refused.Stderr, StringComparison.Ordinal);
            _rekey.Run("source", "add", "app-patients", "--kind", "sqlite", "--connection", table, "--table", "patients", "--column", "ssn", "--keys", "tenants/*").Ok();
            Assert.DoesNotContain(table, _rekey.Run("source", "show", "app-patients", "--format", "json").Ok().Stdout, StringComparison.Ordinal);
            Assert.Contains("app-patients", _rekey.Run("source", "list").Ok().Stdout, StringComparison.Ordinal);
            var run = _rekey.Run("rewrap", "start", "--key", Key, "--source", "app-patients", "--format", "json").Ok();
            var job = JsonDocument.Parse(run.Stdout).RootElement;
            Assert.Equal("Completed", job.GetProperty("state").GetString());
            Assert.Equal(199, job.GetProperty("rewrapped").GetInt64());
            Assert.Contains("199", _rekey.Run("rewrap", "inventory", Key).Ok().Stdout, StringComparison.Ordinal);
        }
        finally
        {
            await host.DisposeAsync();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public async Task Local_SignalledJob_IsHandedBackAsPending_AndResumesAtOnce(string signal)
    {
        _rekey.Run("init").Ok();
        _rekey.Run("key", "create", Key).Ok();
        var table = Path.Combine(Path.GetDirectoryName(_rekey.StoreDir)!, "app.db");
        await using (var open = await StoreHome.Open(_rekey.StoreDir).OpenServiceAsync(null, CancellationToken.None))
        {
            await FillAsync(open.Service, table, 4000);
        }

        _rekey.Run("key", "rotate", Key).Ok();
        using var job = _rekey.Start("rewrap", "start", "--key", Key, "--kind", "sqlite", "--connection", table, "--table", "patients", "--column", "ssn", "--batch-size", "50", "--throttle", "500", "--format", "json");
        var stderr = job.StandardError.ReadToEndAsync();
        var stdout = job.StandardOutput.ReadToEndAsync();

        // Wait until the job has moved some rows, then signal the process as a terminal or systemd would.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var jobs = JsonDocument.Parse(_rekey.Run("rewrap", "status", "--format", "json").Ok().Stdout).RootElement;
            if (jobs.GetArrayLength() == 1 && jobs[0].GetProperty("state").GetString() == "Running" && jobs[0].GetProperty("done").GetInt64() > 0)
            {
                break;
            }

            await Task.Delay(100);
        }

        using (var kill = System.Diagnostics.Process.Start("kill", ["-" + signal, job.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        Assert.True(job.WaitForExit(30_000), "rekey did not stop after SIG" + signal);
        await stdout;
        Assert.Equal(4, job.ExitCode);
        Assert.Contains("rekey rewrap resume", await stderr, StringComparison.Ordinal);
        var status = JsonDocument.Parse(_rekey.Run("rewrap", "status", "--format", "json").Ok().Stdout).RootElement[0];
        Assert.Equal("Pending", status.GetProperty("state").GetString());
        Assert.True(status.GetProperty("done").GetInt64() < 4000);

        // No lease to wait out: resume runs it to the end at once.
        var resumed = JsonDocument.Parse(_rekey.Run("rewrap", "resume", status.GetProperty("id").GetString()!, "--format", "json").Ok().Stdout).RootElement;
        Assert.Equal("Completed", resumed.GetProperty("state").GetString());
    }

    public void Dispose() => _rekey.Dispose();

    // Rows 1..count; row 3 holds something that is not an envelope.
    private static async Task FillAsync(RekeyService service, string path, int count)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using (var create = connection.CreateCommand())
        {
            create.CommandText = "CREATE TABLE patients (id INTEGER PRIMARY KEY, ssn TEXT);";
            create.ExecuteNonQuery();
        }

        using var transaction = connection.BeginTransaction();
        for (var id = 1; id <= count; id++)
        {
            using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO patients (id, ssn) VALUES ($id, $ssn);";
            insert.Parameters.AddWithValue("$id", id);
            insert.Parameters.AddWithValue("$ssn", id == 3 ? "plain text by mistake" : EnvelopeText.Encode(await service.EncryptAsync(KeyName.Parse(Key), "123-45-6789"u8.ToArray(), EncryptionContext.From("id=" + id))));
            insert.ExecuteNonQuery();
        }

        transaction.Commit();
    }
}
