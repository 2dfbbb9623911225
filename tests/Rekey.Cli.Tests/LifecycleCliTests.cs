using System.Text.Json;
using Microsoft.Data.Sqlite;
using Rekey.Envelope;
using Rekey.Keys;
using Rekey.Server.Hosting;

namespace Rekey.Cli.Tests;

/// <summary><c>rekey policy</c> and <c>rekey rotation</c> as a user runs them: locally, and against the dev server where a key looks after itself.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class LifecycleCliTests : IDisposable
{
    private const string Key = "tenants/h42/patients";
    private readonly RekeyProcess _rekey = new();

    [Fact]
    public void Local_SetShowListUnset_AndBadInputChangesNothing()
    {
        _rekey.Run("init").Ok();
        _rekey.Run("key", "create", Key).Ok();
        _rekey.Run("policy", "set", "tenants/*", "--rotate-every", "90d", "--retain", "30d", "--reason", "CHG-1").Ok();
        _rekey.Run("policy", "set", Key, "--max-encryptions", "default").Ok();
        Assert.Equal(2, _rekey.Run("policy", "set", Key, "--max-encryptions", "lots").ExitCode);

        var shown = _rekey.Run("policy", "show", Key).Ok().Stdout;
        Assert.Contains("rotate-every", shown, StringComparison.Ordinal);
        Assert.Contains("90d", shown, StringComparison.Ordinal);
        Assert.Contains("tenants/*", shown, StringComparison.Ordinal);
        var effective = JsonDocument.Parse(_rekey.Run("policy", "show", Key, "--format", "json").Ok().Stdout).RootElement;
        Assert.Equal(Key, effective.GetProperty("sources").GetProperty("max_encryptions").GetString());
        Assert.Equal(1L << 30, effective.GetProperty("policy").GetProperty("max_encryptions").GetInt64());
        Assert.Equal(90 * 86400, effective.GetProperty("policy").GetProperty("rotate_every_seconds").GetInt64());

        Assert.Equal(2, _rekey.Run("policy", "set", "tenants/*", "--rotate-evry", "90d").ExitCode);
        var cron = _rekey.Run("policy", "set", "tenants/*", "--cron", "every night");
        Assert.Equal(2, cron.ExitCode);
        Assert.Contains("is not valid", cron.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, _rekey.Run("policy", "set", "tenants/*", "--rotate-every", "-5d").ExitCode);
        Assert.Contains("under the minimum", _rekey.Run("policy", "set", "tenants/*", "--rotate-every", "10m").Stderr, StringComparison.Ordinal);
        Assert.Contains("matches no key", _rekey.Run("policy", "set", "billing/*", "--rotate-every", "90d").Stderr, StringComparison.Ordinal);
        Assert.Contains("needs a retention rule", _rekey.Run("policy", "set", "tenants/*", "--destroy").Stderr, StringComparison.Ordinal);
        Assert.Equal(2, _rekey.Run("policy", "set", "tenants/*").ExitCode);

        var list = JsonDocument.Parse(_rekey.Run("policy", "list", "--format", "json").Ok().Stdout).RootElement;
        Assert.Equal(2, list.GetArrayLength());
        Assert.Equal(90 * 86400, list[0].GetProperty("policy").GetProperty("rotate_every_seconds").GetInt64());

        _rekey.Run("policy", "unset", Key).Ok();
        Assert.Equal(3, _rekey.Run("policy", "unset", Key).ExitCode);

        // A rotation by hand has its record; a destroy forced without a reason is refused.
        _rekey.Run("key", "rotate", Key).Ok();
        var rotations = JsonDocument.Parse(_rekey.Run("rotation", "list", "--key", Key, "--format", "json").Ok().Stdout).RootElement;
        Assert.Equal("manual", rotations[0].GetProperty("cause").GetString());
        var id = rotations[0].GetProperty("id").GetString()!;
        Assert.Contains("1 -> 2", _rekey.Run("rotation", "show", id).Ok().Stdout, StringComparison.Ordinal);
        Assert.Equal(4, _rekey.Run("rotation", "retry", id).ExitCode);
        Assert.Equal(3, _rekey.Run("rotation", "show", "rot_0000").ExitCode);
        Assert.Equal(2, _rekey.Run("key", "destroy", Key, "1", "--force").ExitCode);

        var audit = _rekey.Run("audit", "list", "--format", "json").Ok().Stdout;
        Assert.Contains("policy.set", audit, StringComparison.Ordinal);
        Assert.Contains("policy.unset", audit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DevServer_AKeyRotatesItsDataIsRewrappedAndItsOldVersionDestroyed_ByItself()
    {
        var (host, token, folder) = await DevServer.StartAsync("http://127.0.0.1:0");
        try
        {
            _rekey.Environment["REKEY_ADDR"] = host.Address.ToString();
            _rekey.Environment["REKEY_TOKEN"] = token;
            var table = Path.Combine(folder, "app.db");
            _rekey.Run("key", "create", Key, "--destruction-delay", "2s").Ok();
            await FillAsync(host.Service, table, 50);
            _rekey.Run("source", "add", "app", "--kind", "sqlite", "--connection", table, "--table", "patients", "--column", "ssn", "--keys", "tenants/*").Ok();
            _rekey.Run("policy", "set", "tenants/*", "--rotate-every", "4s", "--until-reencrypted", "--auto-rewrap", "--destroy", "--disabled-for", "1s").Ok();

            // Version 1 goes all the way: rotated away, drained, disabled, scheduled, destroyed.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            KeyVersionState state;
            do
            {
                await Task.Delay(500);
                var versions = JsonDocument.Parse(_rekey.Run("key", "show", Key, "--format", "json").Ok().Stdout).RootElement.GetProperty("versions");
                state = Enum.Parse<KeyVersionState>(versions[0].GetProperty("state").GetString()!);
            }
            while (state != KeyVersionState.Destroyed && DateTime.UtcNow < deadline);

            Assert.Equal(KeyVersionState.Destroyed, state);
            var rotations = JsonDocument.Parse(_rekey.Run("rotation", "list", "--key", Key, "--format", "json").Ok().Stdout).RootElement;
            var first = rotations[rotations.GetArrayLength() - 1];
            Assert.Equal("periodic", first.GetProperty("cause").GetString());
            Assert.Equal("complete", first.GetProperty("phase").GetString());
            Assert.Equal(50, first.GetProperty("jobs")[0].GetProperty("rewrapped").GetInt64());

            var audit = _rekey.Run("audit", "list", "--format", "json", "--limit", "10000").Ok().Stdout;
            foreach (var action in new[] { "key.rotate", "rewrap.start", "rotation.complete", "version.disable", "version.schedule_destroy", "version.destroy" })
            {
                Assert.Contains(action, audit, StringComparison.Ordinal);
            }

            Assert.Contains("policy:tenants/*", audit, StringComparison.Ordinal);
        }
        finally
        {
            await host.DisposeAsync();
            Directory.Delete(folder, recursive: true);
        }
    }

    public void Dispose() => _rekey.Dispose();

    private static async Task FillAsync(RekeyService service, string path, int count)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using (var create = connection.CreateCommand())
        {
            create.CommandText = "CREATE TABLE patients (id INTEGER PRIMARY KEY, ssn TEXT);";
            create.ExecuteNonQuery();
        }

        for (var id = 1; id <= count; id++)
        {
            using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO patients (id, ssn) VALUES ($id, $ssn);";
            insert.Parameters.AddWithValue("$id", id);
            insert.Parameters.AddWithValue("$ssn", EnvelopeText.Encode(await service.EncryptAsync(KeyName.Parse(Key), "123-45-6789"u8.ToArray(), EncryptionContext.From("id=" + id))));
            insert.ExecuteNonQuery();
        }
    }
}
