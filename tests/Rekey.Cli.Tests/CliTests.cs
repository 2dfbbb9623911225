using System.Text;
using System.Text.Json;

namespace Rekey.Cli.Tests;

/// <summary>The CLI as a user runs it: the README's quickstart, output formats and exit codes.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class CliTests : IDisposable
{
    private const string Key = "tenants/h42/patients";
    private const string Context = "tenant=h42;table=patients;id=17";
    private static readonly byte[] Plaintext = Encoding.UTF8.GetBytes("Jane Doe, 1970-01-01");
    private readonly RekeyProcess _rekey = new();

    [Fact]
    public void Quickstart_AsInTheReadme_Works()
    {
        _rekey.Run("init").Ok();
        _rekey.Run("key", "create", Key).Ok();
        var v1 = _rekey.Run(Plaintext, "encrypt", "--key", Key, "--context", Context).Ok().Stdout.Trim();
        Assert.StartsWith("rekey:v1:", v1, StringComparison.Ordinal);

        _rekey.Run("key", "rotate", Key, "--reason", "scheduled").Ok();
        Assert.Equal(Plaintext, _rekey.Run(Encoding.ASCII.GetBytes(v1), "decrypt", "--context", Context).Ok().StdoutBytes);

        var v2 = _rekey.Run(Encoding.ASCII.GetBytes(v1), "rewrap").Ok().Stdout.Trim();
        Assert.StartsWith("rekey:v2:", v2, StringComparison.Ordinal);
        Assert.Equal(Plaintext, _rekey.Run(Encoding.ASCII.GetBytes(v2), "decrypt", "--context", Context).Ok().StdoutBytes);

        var verify = _rekey.Run("audit", "verify").Ok().Stdout;
        Assert.Contains("Audit log OK: 2 events, 0 signed checkpoints verified.", verify, StringComparison.Ordinal);
    }

    [Fact]
    public void Binary_RoundTrips()
    {
        _rekey.Run("init").Ok();
        _rekey.Run("key", "create", Key).Ok();
        var envelope = _rekey.Run(Plaintext, "encrypt", "--key", Key, "--context", Context, "--binary").Ok().StdoutBytes;
        Assert.Equal((byte)'R', envelope[0]);
        Assert.Equal(Plaintext, _rekey.Run(envelope, "decrypt", "--context", Context).Ok().StdoutBytes);
    }

    [Fact]
    public void FormatJson_IsHonouredByCryptoCommandsAndErrors_WithTheApisFieldNames()
    {
        _rekey.Run("init").Ok();
        _rekey.Run("key", "create", Key, "--format", "json").Ok();
        using var encrypted = JsonDocument.Parse(_rekey.Run(Plaintext, "encrypt", "--key", Key, "--context", Context, "--format", "json").Ok().Stdout);
        var ciphertext = encrypted.RootElement.GetProperty("ciphertext").GetString()!;
        Assert.Equal(Key, encrypted.RootElement.GetProperty("key").GetString());
        Assert.Equal(1, encrypted.RootElement.GetProperty("version").GetInt32());

        using var decrypted = JsonDocument.Parse(_rekey.Run(Encoding.ASCII.GetBytes(ciphertext), "decrypt", "--context", Context, "--format", "json").Ok().Stdout);
        Assert.Equal(Plaintext, Convert.FromBase64String(decrypted.RootElement.GetProperty("plaintext").GetString()!));

        using var shown = JsonDocument.Parse(_rekey.Run("key", "show", Key, "--format", "json").Ok().Stdout);
        Assert.True(shown.RootElement.TryGetProperty("active_version", out _));
        Assert.False(shown.RootElement.TryGetProperty("activeVersion", out _));

        var missing = _rekey.Run("key", "show", "no/such", "--format", "json");
        Assert.Equal(3, missing.ExitCode);
        using var error = JsonDocument.Parse(missing.Stderr);
        Assert.Equal("KeyNotFound", error.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(3, error.RootElement.GetProperty("error").GetProperty("exit_code").GetInt32());
        var usage = _rekey.Run("key", "rotate", Key, "--expected-version", "abc", "--format", "json");
        Assert.Equal("Usage", JsonDocument.Parse(usage.Stderr).RootElement.GetProperty("error").GetProperty("code").GetString());

        var help = _rekey.Run("--help").Ok().Stdout;
        Assert.Contains("REKEY_ADDR", help, StringComparison.Ordinal);
        Assert.Contains("REKEY_TOKEN", help, StringComparison.Ordinal);
        Assert.Contains("--format <table|json|markdown|html>", help, StringComparison.Ordinal);
    }

    [Fact]
    public void KeyShow_Json_HasVersionsAndNoMaterial()
    {
        _rekey.Run("init").Ok();
        _rekey.Run("key", "create", Key).Ok();
        _rekey.Run("key", "rotate", Key).Ok();
        var json = _rekey.Run("key", "show", Key, "--format", "json").Ok().Stdout;
        using var doc = JsonDocument.Parse(json);
        Assert.Equal(2, doc.RootElement.GetProperty("active_version").GetInt32());
        var states = doc.RootElement.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("state").GetString());
        Assert.Equal(["DecryptOnly", "Active"], states);
        Assert.DoesNotContain("material", json, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void ExitCodes_DistinguishUsageNotFoundRefusedConflictDecryptionAndStore()
    {
        Assert.Equal(3, _rekey.Run("key", "list").ExitCode);
        _rekey.Run("init").Ok();
        Assert.Equal(5, _rekey.Run("init").ExitCode);
        _rekey.Run("key", "create", Key).Ok();

        Assert.Equal(2, _rekey.Run("key", "frobnicate").ExitCode);
        Assert.Equal(2, _rekey.Run("key", "create", "Bad Name").ExitCode);
        Assert.Equal(2, _rekey.Run(Plaintext, "encrypt", "--key", Key).ExitCode);
        Assert.Equal(3, _rekey.Run("key", "show", "no/such/key").ExitCode);
        Assert.Equal(4, _rekey.Run("key", "disable", Key, "1").ExitCode);
        Assert.Equal(5, _rekey.Run("key", "create", Key).ExitCode);
        Assert.Equal(5, _rekey.Run("key", "rotate", Key, "--expected-version", "7").ExitCode);

        var envelope = _rekey.Run(Plaintext, "encrypt", "--key", Key, "--context", Context).Ok().StdoutBytes;
        Assert.Equal(6, _rekey.Run(envelope, "decrypt", "--context", "other").ExitCode);
        Assert.Equal(6, _rekey.Run("garbage"u8.ToArray(), "decrypt", "--context", Context).ExitCode);

        File.SetUnixFileMode(Path.Combine(_rekey.StoreDir, "root.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var store = _rekey.Run("key", "list");
        Assert.Equal(7, store.ExitCode);
        Assert.Contains("chmod 600", store.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Errors_GoToStderr_AndNameTheState()
    {
        _rekey.Run("init").Ok();
        _rekey.Run("key", "create", Key, "--destruction-delay", "0s").Ok();
        var old = _rekey.Run(Plaintext, "encrypt", "--key", Key, "--context", Context).Ok().StdoutBytes;
        _rekey.Run("key", "rotate", Key).Ok();
        _rekey.Run("key", "disable", Key, "1").Ok();

        var refused = _rekey.Run(old, "decrypt", "--context", Context);
        Assert.Equal(4, refused.ExitCode);
        Assert.Empty(refused.StdoutBytes);
        Assert.Contains("KeyDisabled", refused.Stderr, StringComparison.Ordinal);

        _rekey.Run("key", "schedule-destroy", Key, "1").Ok();
        _rekey.Run("key", "destroy", Key, "1").Ok();
        var destroyed = _rekey.Run(old, "decrypt", "--context", Context);
        Assert.Equal(4, destroyed.ExitCode);
        Assert.Contains("KeyDestroyed", destroyed.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void AuditVerify_DetectsTruncation_GivenThePrintedHead()
    {
        _rekey.Run("init").Ok();
        _rekey.Run("key", "create", Key).Ok();

        // The last event is a refusal, which changes no state: cutting it leaves a log whose
        // versions still agree with the store, so only the head kept elsewhere tells.
        Assert.Equal(4, _rekey.Run("key", "destroy", Key, "1").ExitCode);
        var json = _rekey.Run("audit", "verify", "--format", "json").Ok().Stdout;
        var head = JsonDocument.Parse(json).RootElement.GetProperty("head").GetString()!;
        Assert.StartsWith("2:", head, StringComparison.Ordinal);

        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_rekey.StoreDir, "rekey.db")};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "DROP TRIGGER audit_events_no_delete; DELETE FROM audit_events WHERE seq = 2;";
            command.ExecuteNonQuery();
        }

        _rekey.Run("audit", "verify").Ok();
        var truncated = _rekey.Run("audit", "verify", "--head", head);
        Assert.Equal(8, truncated.ExitCode);
        Assert.Contains("removed from the end", truncated.Stdout, StringComparison.Ordinal);
        Assert.Equal(2, _rekey.Run("audit", "verify", "--head", "nonsense").ExitCode);
    }

    [Fact]
    public void AuditCheckpoint_ThenTruncation_IsReportedWithoutAHead()
    {
        _rekey.Run("init").Ok();
        _rekey.Run("key", "create", Key).Ok();
        Assert.Contains("Signed checkpoint at sequence 2", _rekey.Run("audit", "checkpoint").Ok().Stdout, StringComparison.Ordinal);
        Assert.Contains("BEGIN PUBLIC KEY", _rekey.Run("audit", "public-key").Ok().Stdout, StringComparison.Ordinal);
        Assert.Contains("1 signed checkpoint verified", _rekey.Run("audit", "verify").Ok().Stdout, StringComparison.Ordinal);

        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_rekey.StoreDir, "rekey.db")};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "DROP TRIGGER audit_events_no_delete; DELETE FROM audit_events WHERE seq = 2;";
            command.ExecuteNonQuery();
        }

        var truncated = _rekey.Run("audit", "verify");
        Assert.Equal(8, truncated.ExitCode);
        Assert.Contains("removed from the end", truncated.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Passphrase_Init_NeedsThePassphraseAfterwards()
    {
        _rekey.Environment["REKEY_TEST_PASSPHRASE"] = "correct horse battery staple";
        _rekey.Run("init", "--passphrase-env", "REKEY_TEST_PASSPHRASE").Ok();
        Assert.True(File.Exists(Path.Combine(_rekey.StoreDir, "root.params")));
        Assert.False(File.Exists(Path.Combine(_rekey.StoreDir, "root.key")));
        _rekey.Run("key", "create", Key).Ok();

        _rekey.Environment["REKEY_TEST_PASSPHRASE"] = "wrong horse battery staple";
        var wrong = _rekey.Run("key", "list");
        Assert.Equal(7, wrong.ExitCode);
        Assert.Contains("passphrase does not match", wrong.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("horse", wrong.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Postgres_Store_QuickstartWorks()
    {
        await using var database = await Rekey.Testing.PostgresDatabase.CreateAsync();
        _rekey.Run("init", "--store", database.ConnectionString).Ok();
        Assert.False(File.Exists(Path.Combine(_rekey.StoreDir, "rekey.db")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_rekey.StoreDir, "rekey.json")));

        _rekey.Run("key", "create", Key).Ok();
        var v1 = _rekey.Run(Plaintext, "encrypt", "--key", Key, "--context", Context).Ok().StdoutBytes;
        _rekey.Run("key", "rotate", Key).Ok();
        Assert.Equal(Plaintext, _rekey.Run(v1, "decrypt", "--context", Context).Ok().StdoutBytes);
        Assert.Equal(1L, await database.ExecuteAsync("SELECT count(*) FROM key_versions WHERE state = 'Active';"));
        _rekey.Run("audit", "verify").Ok();
    }

    [Fact]
    public void Init_OverAnOrphanedDatabase_Refuses_AndLeavesItAlone()
    {
        Directory.CreateDirectory(_rekey.StoreDir);
        var orphan = Path.Combine(_rekey.StoreDir, "rekey.db");
        File.WriteAllText(orphan, "somebody's data");
        var result = _rekey.Run("init");
        Assert.Equal(5, result.ExitCode);
        Assert.Contains("refusing to initialize over it", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("somebody's data", File.ReadAllText(orphan));
        Assert.False(File.Exists(Path.Combine(_rekey.StoreDir, "rekey.json")));
    }

    [Fact]
    public void Init_WithBadStore_IsUsageError_AndWritesNothing()
    {
        Assert.Equal(2, _rekey.Run("init", "--store", "Host=h;Bogus=1").ExitCode);
        Assert.False(Directory.Exists(_rekey.StoreDir));
    }

    [Fact]
    public void Init_WithUnreachableStore_IsStoreFailure_AndLeavesNothing()
    {
        var result = _rekey.Run("init", "--store", "Host=127.0.0.1;Port=1;Database=x;Username=x;Password=hunter2;Timeout=2");
        Assert.Equal(7, result.ExitCode);
        Assert.DoesNotContain("hunter2", result.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_rekey.StoreDir));
    }

    [Fact]
    public void Help_ListsTheCommands()
    {
        var help = _rekey.Run("--help").Ok().Stdout;
        foreach (var command in new[] { "init", "key", "encrypt", "decrypt", "rewrap", "audit" })
        {
            Assert.Contains(command, help, StringComparison.Ordinal);
        }
    }

    public void Dispose() => _rekey.Dispose();
}
