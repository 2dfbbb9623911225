using System.Text;
using Microsoft.Data.Sqlite;
using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Keys;

namespace Rekey.Storage.Sqlite.Tests;

/// <summary>What the SQLite store guarantees by itself: constraints, atomicity, erasure, append-only audit.</summary>
public sealed class SqliteKeyStoreTests : IAsyncLifetime
{
    private static readonly KeyName Key = SqliteFixture.Name("tenants/h42/patients");
    private SqliteFixture _f = null!;

    public async Task InitializeAsync() => _f = await SqliteFixture.CreateAsync(destructionDelay: TimeSpan.Zero);

    public async Task DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task Database_RefusesASecondActiveVersion()
    {
        await _f.Service.CreateKeyAsync(Key);
        await _f.Service.RotateAsync(Key);
        var e = Assert.Throws<SqliteException>(() => _f.Execute($"UPDATE key_versions SET state = 'Active' WHERE key_name = '{Key}' AND version = 1;"));
        Assert.Equal(19, e.SqliteErrorCode);
    }

    [Fact]
    public async Task Database_RefusesDestroyedWithMaterial()
    {
        await _f.Service.CreateKeyAsync(Key);
        await _f.Service.RotateAsync(Key);
        Assert.Throws<SqliteException>(() => _f.Execute($"UPDATE key_versions SET state = 'Destroyed' WHERE key_name = '{Key}' AND version = 1;"));
    }

    [Fact]
    public async Task Rotate_WhenAuditWriteFails_RollsBack_OldVersionStaysActive()
    {
        await _f.Service.CreateKeyAsync(Key);
        var eventsBefore = (await _f.Service.ReadAuditAsync()).Count;
        // A fault after the demotion and the insert, inside the same transaction.
        _f.Execute("CREATE TRIGGER fail_rotate BEFORE INSERT ON audit_events WHEN NEW.action = 'key.rotate' BEGIN SELECT RAISE(ABORT, 'injected fault'); END;");

        var e = await Assert.ThrowsAsync<RekeyStoreException>(() => _f.Service.RotateAsync(Key));
        Assert.False(e.IsTransient);

        var versions = await _f.Store.GetVersionsAsync(Key);
        var only = Assert.Single(versions);
        Assert.Equal(KeyVersionState.Active, only.Info.State);
        Assert.Equal(eventsBefore, (await _f.Service.ReadAuditAsync()).Count);
        Assert.True((await _f.Service.VerifyAuditAsync()).IsValid);
    }

    [Fact]
    public async Task Destroy_ErasesMaterialFromTheDatabaseFiles()
    {
        await _f.Service.CreateKeyAsync(Key);
        await _f.Service.RotateAsync(Key);
        var material = (await _f.Store.GetVersionsAsync(Key))[0].WrappedMaterial!;
        Assert.True(ContainsInFiles(material), "the material should be in the files before destruction");

        await _f.Service.DisableAsync(Key, 1);
        await _f.Service.ScheduleDestroyAsync(Key, 1);
        await _f.Service.DestroyAsync(Key, 1);

        Assert.Null((await _f.Store.GetVersionsAsync(Key))[0].WrappedMaterial);
        Assert.False(ContainsInFiles(material), "destroyed material must not remain in the database or its WAL");
    }

    [Fact]
    public async Task AuditTable_IsAppendOnly()
    {
        await _f.Service.CreateKeyAsync(Key);
        Assert.Throws<SqliteException>(() => _f.Execute("UPDATE audit_events SET actor = 'mallory';"));
        Assert.Throws<SqliteException>(() => _f.Execute("DELETE FROM audit_events;"));
    }

    [Theory]
    [InlineData("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2;", 2L)]
    [InlineData("DELETE FROM audit_events WHERE seq = 2;", 3L)]
    [InlineData("UPDATE audit_events SET seq = 10 WHERE seq = 2; UPDATE audit_events SET seq = 2 WHERE seq = 3; UPDATE audit_events SET seq = 3 WHERE seq = 10;", 2L)]
    [InlineData("INSERT INTO audit_events SELECT 10, time, actor, action, key_name, from_version, to_version, outcome, details, prev_hash, hash FROM audit_events WHERE seq = 4; DELETE FROM audit_events WHERE seq = 4; UPDATE audit_events SET seq = 5 WHERE seq = 10; INSERT INTO audit_events SELECT 4, time, 'mallory', action, key_name, from_version, to_version, outcome, details, prev_hash, hash FROM audit_events WHERE seq = 3;", 4L)]
    public async Task Verify_DetectsTamperingThroughSql(string tamper, long failsAt)
    {
        await _f.Service.CreateKeyAsync(Key);
        await _f.Service.RotateAsync(Key);
        await _f.Service.RotateAsync(Key);
        await _f.Service.DisableAsync(Key, 1);
        Assert.True((await _f.Service.VerifyAuditAsync()).IsValid);

        // Someone with write access to the file removes the guards first.
        _f.Execute("DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete; " + tamper);
        var result = await _f.Service.VerifyAuditAsync();
        Assert.False(result.IsValid);
        Assert.Equal(failsAt, result.FailedAtSequence);
    }

    [Fact]
    public async Task Verify_DetectsTruncatedTail_GivenTheRecordedHead()
    {
        await _f.Service.CreateKeyAsync(Key);
        await _f.Service.RotateAsync(Key);
        await _f.Service.RotateAsync(Key);
        var head = (await _f.Service.VerifyAuditAsync()).Head!.Value;

        _f.Execute("DROP TRIGGER audit_events_no_delete; DELETE FROM audit_events WHERE seq = 3;");
        Assert.True((await _f.Service.VerifyAuditAsync()).IsValid);
        var result = await _f.Service.VerifyAuditAsync(head);
        Assert.False(result.IsValid);
        Assert.Contains("removed from the end", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_DatabaseFromNewerBuild_IsRefused()
    {
        _f.Execute("INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0);");
        var e = await Assert.ThrowsAsync<RekeyStoreException>(() => SqliteKeyStore.OpenAsync(_f.DatabasePath));
        Assert.Contains("newer", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_Twice_IsIdempotent()
    {
        await _f.Service.CreateKeyAsync(Key);
        await using var again = await SqliteKeyStore.OpenAsync(_f.DatabasePath);
        Assert.NotNull(await again.FindKeyAsync(Key));
    }

    [Fact]
    public void JournalMode_IsWal()
    {
        using var connection = _f.OpenRaw();
        Assert.Equal("wal", Scalar(connection, "PRAGMA journal_mode;"));
    }

    [Fact]
    public async Task ListKeys_ByPrefix_TreatsUnderscoreLiterally()
    {
        foreach (var name in new[] { "a_b/x", "axb/y", "a_b/z", "c" })
        {
            await _f.Service.CreateKeyAsync(SqliteFixture.Name(name));
        }

        Assert.Equal(["a_b/x", "a_b/z"], (await _f.Service.ListKeysAsync("a_b/")).Select(k => k.Name.Value));
        Assert.Equal(4, (await _f.Service.ListKeysAsync()).Count);
    }

    [Fact]
    public async Task Rotate_SixteenConcurrentCallers_AllSucceed_VersionsContiguous()
    {
        await _f.Service.CreateKeyAsync(Key);
        var services = Enumerable.Range(0, 16).Select(_ => _f.OpenSecondService()).ToList();
        var results = await Task.WhenAll(services.Select(s => Task.Run(() => s.RotateAsync(Key))));
        Assert.Equal(Enumerable.Range(2, 16), results.Select(r => r.Version).Order());
        var versions = await _f.Service.ListVersionsAsync(Key);
        Assert.Single(versions, v => v.State == KeyVersionState.Active);
        Assert.Equal(17, versions[^1].Version);
        Assert.True((await _f.Service.VerifyAuditAsync()).IsValid);
        foreach (var s in services)
        {
            await s.DisposeAsync();
        }
    }

    [Fact]
    public async Task Rotate_SixteenConcurrentWithSameExpected_ExactlyOneWins()
    {
        await _f.Service.CreateKeyAsync(Key);
        var services = Enumerable.Range(0, 16).Select(_ => _f.OpenSecondService()).ToList();
        var outcomes = await Task.WhenAll(services.Select(s => Task.Run(async () =>
        {
            try
            {
                await s.RotateAsync(Key, new RotateOptions(ExpectedActiveVersion: 1));
                return (RekeyErrorCode?)null;
            }
            catch (RekeyException e)
            {
                return e.Code;
            }
        })));
        Assert.Equal(1, outcomes.Count(o => o is null));
        Assert.All(outcomes.Where(o => o is not null), o => Assert.Equal(RekeyErrorCode.Conflict, o));
        Assert.Equal(2, (await _f.Service.GetKeyAsync(Key)).LatestVersion);
        foreach (var s in services)
        {
            await s.DisposeAsync();
        }
    }

    [Fact]
    public async Task DataFile_HoldsNoPlaintextKeyMaterialOrData()
    {
        await _f.Service.CreateKeyAsync(Key);
        var secret = Encoding.UTF8.GetBytes("very secret record body 123");
        var envelope = await _f.Service.EncryptAsync(Key, secret, EncryptionContext.From("c"));
        Assert.NotEmpty(envelope);
        Assert.False(ContainsInFiles(secret));
    }

    private bool ContainsInFiles(byte[] needle)
    {
        SqliteConnection.ClearAllPools();
        foreach (var path in Directory.GetFiles(_f.Dir, "rekey.db*"))
        {
            var bytes = File.ReadAllBytes(path);
            if (bytes.AsSpan().IndexOf(needle) >= 0)
            {
                return true;
            }
        }

        return false;
    }

    private static string? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar()?.ToString();
    }
}
