using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Rekey.Access;
using Rekey.Audit;
using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Root;
using Rekey.Storage;

namespace Rekey.Testing.Conformance;

/// <summary>
/// What every store must do, run unchanged against each one: a store's test project derives
/// from this class and says only how to open the store, run raw SQL and reach its internals.
/// </summary>
public abstract partial class KeyStoreConformanceTests : IAsyncLifetime
{
    protected static readonly KeyName Key = KeyName.Parse("tenants/h42/patients");
    private static readonly EncryptionContext Context = EncryptionContext.From("tenant=h42;id=17");
    private static readonly byte[] Plaintext = Encoding.UTF8.GetBytes("Jane Doe, 1970-01-01");
    private readonly List<IAsyncDisposable> _opened = [];
    private string _dir = string.Empty;

    protected FakeTimeProvider Time { get; } = new();

    protected IRootKeyProvider Root { get; private set; } = null!;

    protected IKeyStore Store { get; private set; } = null!;

    protected RekeyService Service { get; private set; } = null!;

    protected string RootKeyPath => Path.Combine(_dir, "root.key");

    /// <summary>How a worker process opens the same root: the key file's path, or a root setting such as <c>pkcs11:...</c>.</summary>
    protected virtual string RootArgument => RootKeyPath;

    /// <summary>The length of one wrapped 32-byte KEK under <see cref="CreateRoot"/>, when the root's format fixes it (61 for the key file and PKCS#11 roots).</summary>
    protected virtual int? WrappedMaterialLength => 61;

    /// <summary>The root the suite runs over: a new key file by default; a subclass can root it in an HSM.</summary>
    protected virtual IRootKeyProvider CreateRoot() => LocalRootKeyProvider.CreateKeyFile(RootKeyPath);

    public async Task InitializeAsync()
    {
        _dir = Directory.CreateTempSubdirectory("rekey-conformance-").FullName;
        Root = CreateRoot();
        await CreateBackingAsync(_dir);
        Store = await OpenStoreAsync(Time);
        Service = new RekeyService(Store, Root, new RekeyServiceOptions { DefaultDestructionDelay = TimeSpan.Zero }, Time);
    }

    public async Task DisposeAsync()
    {
        await Service.DisposeAsync();
        foreach (var opened in _opened)
        {
            await opened.DisposeAsync();
        }

        await Store.DisposeAsync();
        await DisposeBackingAsync();
        await Root.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task CreateKey_ThenRead_RoundTripsEveryField()
    {
        await Service.CreateKeyAsync(Key, new KeyCreateOptions(TimeSpan.FromHours(3)));
        var key = await Store.FindKeyAsync(Key);
        Assert.Equal(new StoredKey(Key, Time.GetUtcNow(), 1, TimeSpan.FromHours(3)), key);
        var version = Assert.Single(await Store.GetVersionsAsync(Key));
        Assert.Equal(KeyVersionState.Active, version.Info.State);
        Assert.Equal(Time.GetUtcNow(), version.Info.ActivatedAt);
        Assert.Equal(Root.KeyId, version.RootKeyId);
        Assert.True(version.WrappedMaterial!.Length > 32);
        if (WrappedMaterialLength is { } length)
        {
            Assert.Equal(length, version.WrappedMaterial.Length);
        }
    }

    [Fact]
    public async Task CreateKey_Twice_IsKeyExists_AndAddsNoEvent()
    {
        await Service.CreateKeyAsync(Key);
        var e = await Assert.ThrowsAsync<RekeyException>(() => Service.CreateKeyAsync(Key));
        Assert.Equal(RekeyErrorCode.KeyExists, e.Code);
        Assert.Single(await Service.ReadAuditAsync());
    }

    [Fact]
    public async Task FindKey_Missing_IsNull_AndVersionsEmpty()
    {
        Assert.Null(await Store.FindKeyAsync(Key));
        Assert.Empty(await Store.GetVersionsAsync(Key));
    }

    [Fact]
    public async Task ListKeys_ByPrefix_TreatsUnderscoreAndPercentLiterally()
    {
        foreach (var name in new[] { "a_b/x", "axb/y", "a_b/z", "c", "a/b" })
        {
            await Service.CreateKeyAsync(KeyName.Parse(name));
        }

        Assert.Equal(["a_b/x", "a_b/z"], (await Service.ListKeysAsync("a_b/")).Select(k => k.Name.Value));
        Assert.Empty(await Service.ListKeysAsync("%"));
        Assert.Equal(["a/b", "a_b/x", "a_b/z", "axb/y", "c"], (await Service.ListKeysAsync()).Select(k => k.Name.Value));
    }

    [Fact]
    public async Task EveryAllowedTransition_IsApplied_AndAudited()
    {
        await Service.CreateKeyAsync(Key);
        await Service.RotateAsync(Key, new RotateOptions(Activate: false));
        await Service.ActivateAsync(Key, 2);                        // Pending -> Active, Active -> DecryptOnly
        await Service.RetireAsync(Key, 1, TimeSpan.FromDays(1));    // DecryptOnly -> Retiring
        await Service.EnableAsync(Key, 1);                          // Retiring -> DecryptOnly
        await Service.RetireAsync(Key, 1, TimeSpan.FromDays(1));
        await Service.DisableAsync(Key, 1);                         // Retiring -> Disabled
        await Service.EnableAsync(Key, 1);                          // Disabled -> DecryptOnly
        await Service.DisableAsync(Key, 1);                         // DecryptOnly -> Disabled
        await Service.ScheduleDestroyAsync(Key, 1);                 // Disabled -> DestroyScheduled
        await Service.CancelDestroyAsync(Key, 1);                   // DestroyScheduled -> Disabled
        await Service.ScheduleDestroyAsync(Key, 1);
        await Service.DestroyAsync(Key, 1);                         // DestroyScheduled -> Destroyed
        await Service.RotateAsync(Key, new RotateOptions(Activate: false));
        await Service.DisableAsync(Key, 3);                         // Pending -> Disabled

        var states = (await Store.GetVersionsAsync(Key)).Select(v => v.Info.State);
        Assert.Equal([KeyVersionState.Destroyed, KeyVersionState.Active, KeyVersionState.Disabled], states);
        var events = await Service.ReadAuditAsync();
        Assert.Equal(15, events.Count);
        Assert.All(events, e => Assert.Equal("success", e.Record.Outcome));
        Assert.True((await Service.VerifyAuditAsync()).IsValid);
    }

    [Fact]
    public async Task RefusedTransition_ChangesNothing_AndIsAuditedAsRefused()
    {
        await Service.CreateKeyAsync(Key);
        await Service.RotateAsync(Key);
        var before = await Store.GetVersionsAsync(Key);
        var e = await Assert.ThrowsAsync<RekeyException>(() => Service.ScheduleDestroyAsync(Key, 1));
        Assert.Equal(RekeyErrorCode.TransitionNotAllowed, e.Code);
        Assert.Equal(before.Select(v => v.Info), (await Store.GetVersionsAsync(Key)).Select(v => v.Info));
        Assert.Equal("refused:TransitionNotAllowed", (await Service.ReadAuditAsync())[^1].Record.Outcome);
    }

    [Fact]
    public async Task Database_RefusesASecondActiveVersion()
    {
        await Service.CreateKeyAsync(Key);
        await Service.RotateAsync(Key);
        await Assert.ThrowsAnyAsync<Exception>(() => SqlAsync($"UPDATE key_versions SET state = 'Active' WHERE key_name = '{Key}' AND version = 1;"));
        Assert.Equal(1L, Convert.ToInt64(await SqlAsync($"SELECT count(*) FROM key_versions WHERE key_name = '{Key}' AND state = 'Active';"), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Database_RefusesDestroyedStateWithMaterial()
    {
        await Service.CreateKeyAsync(Key);
        await Service.RotateAsync(Key);
        await Assert.ThrowsAnyAsync<Exception>(() => SqlAsync($"UPDATE key_versions SET state = 'Destroyed' WHERE key_name = '{Key}' AND version = 1;"));
    }

    [Fact]
    public async Task Rotate_FaultAfterDemotion_RollsBack_OldVersionStaysActive_NoEvent()
    {
        await Service.CreateKeyAsync(Key);
        var eventsBefore = (await Service.ReadAuditAsync()).Count;
        SetAfterVersionUpdates(Store, () => throw new IOException("injected fault after the demotion"));
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(() => Service.RotateAsync(Key));
        }
        finally
        {
            SetAfterVersionUpdates(Store, null);
        }

        var only = Assert.Single(await Store.GetVersionsAsync(Key));
        Assert.Equal(KeyVersionState.Active, only.Info.State);
        Assert.Equal(eventsBefore, (await Service.ReadAuditAsync()).Count);
        Assert.True((await Service.VerifyAuditAsync()).IsValid);
        Assert.Equal(2, (await Service.RotateAsync(Key)).Version);
    }

    [Fact]
    public async Task Destroy_ErasesMaterial_FromRowAndPersistedData()
    {
        await Service.CreateKeyAsync(Key);
        await Service.RotateAsync(Key);
        var material = (await Store.GetVersionsAsync(Key))[0].WrappedMaterial!;
        Assert.True(await PersistedDataContainsAsync(material), "before destruction the material must be found, or this test proves nothing");

        await Service.DisableAsync(Key, 1);
        await Service.ScheduleDestroyAsync(Key, 1);
        await Service.DestroyAsync(Key, 1);

        Assert.Null((await Store.GetVersionsAsync(Key))[0].WrappedMaterial);
        Assert.False(await PersistedDataContainsAsync(material), "destroyed material must not remain in the store's data");
    }

    [Fact]
    public async Task DeleteKey_OnlyWhenAllowed_ErasesEveryVersionFromPersistedData()
    {
        await Service.CreateKeyAsync(Key);
        await Service.RotateAsync(Key);
        var materials = (await Store.GetVersionsAsync(Key)).Select(v => v.WrappedMaterial!).ToList();

        var refused = await Assert.ThrowsAsync<RekeyException>(() => Service.DeleteKeyAsync(Key));
        Assert.Equal(RekeyErrorCode.PolicyViolation, refused.Code);
        Assert.Equal(2, (await Store.GetVersionsAsync(Key)).Count);
        Assert.Equal("refused:PolicyViolation", (await Service.ReadAuditAsync())[^1].Record.Outcome);

        var updated = await Service.UpdateKeyAsync(Key, new KeyConfigUpdate(TimeSpan.FromHours(1), DeletionAllowed: true));
        Assert.True(updated.DeletionAllowed);
        Assert.True((await Store.FindKeyAsync(Key))!.DeletionAllowed);
        Assert.Equal(TimeSpan.FromHours(1), (await Store.FindKeyAsync(Key))!.DestructionDelay);
        Assert.True(await PersistedDataContainsAsync(materials[0]), "before deletion the material must be found, or this test proves nothing");

        await Service.DeleteKeyAsync(Key, new ChangeContext("officer", "decommissioned"));
        Assert.Null(await Store.FindKeyAsync(Key));
        Assert.Empty(await Store.GetVersionsAsync(Key));
        foreach (var material in materials)
        {
            Assert.False(await PersistedDataContainsAsync(material), "deleted material must not remain in the store's data");
        }

        var gone = await Assert.ThrowsAsync<RekeyException>(() => Store.DeleteKeyAsync(Key, new Audit.AuditRecord(Time.GetUtcNow(), "x", "key.delete", Key.Value, null, null, "success", null)));
        Assert.Equal(RekeyErrorCode.KeyNotFound, gone.Code);
        Assert.Equal("key.delete", (await Service.ReadAuditAsync())[^1].Record.Action);
        Assert.True((await Service.VerifyAuditAsync()).IsValid);

        // The name is free again, for a new key with new material.
        await Service.CreateKeyAsync(Key);
        Assert.Equal(1, (await Service.GetKeyAsync(Key)).ActiveVersion);
    }

    [Fact]
    public async Task RewrapJobs_CreateUpdateConditionally_LeaseFailuresAndInventory()
    {
        var jobs = (IRewrapJobStore)Store;
        var now = Time.GetUtcNow();
        var job = new StoredRewrapJob("job-1", Key, "Pending", "{\"position\":null}", null, null, now);
        await jobs.CreateJobAsync(job, new AuditRecord(now, "ops", "rewrap.start", Key.Value, null, 2, "success", "job job-1"));
        var duplicate = await Assert.ThrowsAsync<RekeyException>(() => jobs.CreateJobAsync(job, new AuditRecord(now, "ops", "rewrap.start", Key.Value, null, 2, "success", null)));
        Assert.Equal(RekeyErrorCode.Conflict, duplicate.Code);
        Assert.Equal(job, await jobs.FindJobAsync("job-1"));

        // A lease is exclusive until it lapses.
        Assert.True(await jobs.TryLeaseJobAsync("job-1", "instance-a", now, now.AddSeconds(30)));
        Assert.False(await jobs.TryLeaseJobAsync("job-1", "instance-b", now.AddSeconds(10), now.AddSeconds(40)));
        Assert.True(await jobs.TryLeaseJobAsync("job-1", "instance-a", now.AddSeconds(10), now.AddSeconds(40)));

        var running = job with { State = "Running", Document = "{\"position\":\"17\"}", LeaseOwner = "instance-a", LeaseUntil = now.AddSeconds(40), UpdatedAt = now.AddSeconds(1) };
        var failure = new RewrapFailureRecord("job-1", "17", "ssn", 1, "KeyDestroyed", now);
        Assert.True(await jobs.UpdateJobAsync(running, ["Pending", "Running"], "instance-a", [failure], null));
        Assert.False(await jobs.UpdateJobAsync(running, ["Running"], "instance-b", [], null));

        // Paused from elsewhere: the runner's next conditional save fails, so it stops.
        var paused = running with { State = "Paused", UpdatedAt = now.AddSeconds(2) };
        Assert.True(await jobs.UpdateJobAsync(paused, ["Pending", "Running"], null, [], new AuditRecord(now, "ops", "rewrap.pause", Key.Value, null, null, "success", null)));
        Assert.False(await jobs.UpdateJobAsync(running, ["Running"], "instance-a", [], null));
        Assert.Equal("Paused", (await jobs.FindJobAsync("job-1"))!.State);
        Assert.Equal(["job-1"], (await jobs.ListJobsAsync()).Select(j => j.Id));

        Assert.True(await jobs.TryLeaseJobAsync("job-1", "instance-b", now.AddSeconds(41), now.AddSeconds(70)));
        Assert.True(await jobs.UpdateJobAsync(paused with { LeaseOwner = "instance-b" }, ["Paused"], "instance-b", [failure with { Reason = "malformed", Version = null }], null));
        Assert.Equal([("17", "ssn", (int?)null, "malformed")], (await jobs.GetFailuresAsync("job-1", 10)).Select(f => (f.RecordId, f.Column, f.Version, f.Reason)));

        await jobs.ReplaceInventoryAsync("db/patients", Key, [new InventoryCount("db/patients", Key, 1, 5, now), new InventoryCount("db/patients", Key, 2, 95, now)]);
        await jobs.ReplaceInventoryAsync("db/patients", Key, [new InventoryCount("db/patients", Key, 2, 100, now.AddMinutes(1))]);
        var inventory = await jobs.GetInventoryAsync(Key);
        Assert.Equal([(2, 100L)], inventory.Select(i => (i.Version, i.Count)));
        Assert.True((await Service.VerifyAuditAsync()).IsValid);
    }

    [Fact]
    public async Task AuditTable_RefusesUpdateAndDelete()
    {
        await Service.CreateKeyAsync(Key);
        await Assert.ThrowsAnyAsync<Exception>(() => SqlAsync("UPDATE audit_events SET actor = 'mallory';"));
        await Assert.ThrowsAnyAsync<Exception>(() => SqlAsync("DELETE FROM audit_events;"));
        Assert.True((await Service.VerifyAuditAsync()).IsValid);
    }

    [Theory]
    [InlineData("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2;", 2L)]
    [InlineData("DELETE FROM audit_events WHERE seq = 2;", 3L)]
    [InlineData("UPDATE audit_events SET seq = 10 WHERE seq = 2; UPDATE audit_events SET seq = 2 WHERE seq = 3; UPDATE audit_events SET seq = 3 WHERE seq = 10;", 2L)]
    [InlineData("INSERT INTO audit_events SELECT 10, time, actor, action, key_name, from_version, to_version, outcome, details, prev_hash, hash, reason, request_id, client, presented_token FROM audit_events WHERE seq = 4; DELETE FROM audit_events WHERE seq = 4; UPDATE audit_events SET seq = 5 WHERE seq = 10; INSERT INTO audit_events SELECT 4, time, 'mallory', action, key_name, from_version, to_version, outcome, details, prev_hash, hash, reason, request_id, client, presented_token FROM audit_events WHERE seq = 3;", 4L)]
    public async Task Verify_DetectsTamperingThroughSql(string tamper, long failsAt)
    {
        await Service.CreateKeyAsync(Key);
        await Service.RotateAsync(Key);
        await Service.RotateAsync(Key);
        await Service.DisableAsync(Key, 1);
        Assert.True((await Service.VerifyAuditAsync()).IsValid);

        await DropAuditGuardsAsync();
        await SqlAsync(tamper);
        var result = await Service.VerifyAuditAsync();
        Assert.False(result.IsValid);
        Assert.Equal(failsAt, result.FailedAtSequence);
    }

    [Fact]
    public async Task Verify_DetectsTruncatedTail_GivenTheRecordedHead()
    {
        await Service.CreateKeyAsync(Key);
        await Service.RotateAsync(Key);

        // A refused change is the last event: removing it leaves every version's state as the
        // shorter log says, so only the head kept elsewhere tells.
        await Assert.ThrowsAsync<RekeyException>(() => Service.DestroyAsync(Key, 2));
        var head = (await Service.VerifyAuditAsync()).Head!.Value;

        await DropAuditGuardsAsync();
        await SqlAsync("DELETE FROM audit_events WHERE seq = 3;");
        Assert.True((await Service.VerifyAuditAsync()).IsValid);
        var result = await Service.VerifyAuditAsync(head);
        Assert.False(result.IsValid);
        Assert.Contains("removed from the end", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Usage_IsAddedToCounters()
    {
        await Service.CreateKeyAsync(Key);
        var envelope = await Service.EncryptAsync(Key, Plaintext, Context);
        await Service.EncryptAsync(Key, Plaintext, Context);
        await Service.DecryptAsync(Key, envelope, Context);
        await Service.FlushUsageAsync();
        await Service.EncryptAsync(Key, Plaintext, Context);
        await Service.FlushUsageAsync();
        var v1 = Assert.Single(await Store.GetVersionsAsync(Key)).Info;
        Assert.Equal((3, 1), (v1.EncryptCount, v1.DecryptCount));
    }

    [Fact]
    public async Task Tokens_CreateFindListRevoke_RoundTrip_AndAreAudited()
    {
        var tokens = (ITokenStore)Store;
        TokenSecret.Issue(out var id, out var secret, out var hash);
        var token = new AccessToken(id, "ci deploy", new HashSet<Role> { Role.Application, Role.Auditor }, [KeyPattern.Parse("tenants/h42/*"), KeyPattern.Parse("shared")], hash, Time.GetUtcNow(), Time.GetUtcNow().AddDays(30), null);
        await tokens.CreateTokenAsync(token, TokenAudit("token.create", id));

        var found = await tokens.FindTokenAsync(id);
        Assert.NotNull(found);
        Assert.Equal((token.Name, token.CreatedAt, token.ExpiresAt, token.RevokedAt), (found.Name, found.CreatedAt, found.ExpiresAt, found.RevokedAt));
        Assert.True(found.Roles.SetEquals(token.Roles));
        Assert.Equal(token.Patterns, found.Patterns);
        Assert.True(TokenSecret.TryRead(secret, out _, out var presented) && TokenSecret.Matches(presented, found));
        Assert.Null(await tokens.FindTokenAsync("0000000000000000"));
        Assert.Equal([id], (await tokens.ListTokensAsync()).Select(t => t.Id));

        Time.Advance(TimeSpan.FromMinutes(1));
        await tokens.RevokeTokenAsync(id, Time.GetUtcNow(), TokenAudit("token.revoke", id));
        Assert.Equal(Time.GetUtcNow(), (await tokens.FindTokenAsync(id))!.RevokedAt);
        Assert.Equal(RekeyErrorCode.Conflict, (await Assert.ThrowsAsync<RekeyException>(() => tokens.RevokeTokenAsync(id, Time.GetUtcNow(), TokenAudit("token.revoke", id)))).Code);
        Assert.Equal(RekeyErrorCode.TokenNotFound, (await Assert.ThrowsAsync<RekeyException>(() => tokens.RevokeTokenAsync("0000000000000000", Time.GetUtcNow(), TokenAudit("token.revoke", "0000000000000000")))).Code);
        Assert.Equal(RekeyErrorCode.Conflict, (await Assert.ThrowsAsync<RekeyException>(() => tokens.CreateTokenAsync(token, TokenAudit("token.create", id)))).Code);

        Assert.Equal(["token.create", "token.revoke"], (await Service.ReadAuditAsync()).Select(e => e.Record.Action));
        Assert.False(await PersistedDataContainsAsync(System.Text.Encoding.ASCII.GetBytes(secret[21..])), "the token secret must never be stored");
    }

    [Fact]
    public async Task Checkpoints_SignedStoredAndVerified_CatchTruncationWithoutAHead()
    {
        // On an empty log, creating the signing key is the first audited event, and is signed.
        var first = await Service.CheckpointAuditAsync();
        Assert.Equal(1, first!.Sequence);
        Assert.Equal("audit.signing_key.create", (await Service.ReadAuditAsync())[0].Record.Action);

        await Service.CreateKeyAsync(Key);
        await Service.RotateAsync(Key);
        var second = await Service.CheckpointAuditAsync();
        Assert.Equal((3, first.KeyId), (second!.Sequence, second.KeyId));
        await Service.RotateAsync(Key);

        Assert.True(Assert.Single(await Service.GetAuditPublicKeysAsync()).Value.Length > 0);
        var ok = await Service.VerifyAuditAsync();
        Assert.True(ok.IsValid, ok.Problem);
        Assert.Equal(2, ok.CheckpointCount);

        await DropAuditGuardsAsync();
        await SqlAsync("DELETE FROM audit_events WHERE seq >= 3;");
        var truncated = await Service.VerifyAuditAsync();
        Assert.False(truncated.IsValid);
        Assert.Contains("signed checkpoint", truncated.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Checkpoints_AlteredInTheDatabase_AreReportedAsForged()
    {
        await Service.CreateKeyAsync(Key);
        var checkpoint = await Service.CheckpointAuditAsync();
        await SqlAsync($"UPDATE audit_checkpoints SET time = time + 1 WHERE seq = {checkpoint!.Sequence};");
        var result = await Service.VerifyAuditAsync();
        Assert.False(result.IsValid);
        Assert.Contains("forged or altered", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_StoreAtSchemaVersionOne_UpgradesInPlace_KeepingItsData()
    {
        await Service.CreateKeyAsync(Key);
        var envelope = await Service.EncryptAsync(Key, Plaintext, Context);

        // Take the store back to what schema version 1 had.
        await SqlAsync("DROP TABLE approval_votes; DROP TABLE approvals; DROP TABLE import_tokens; ALTER TABLE key_versions DROP COLUMN origin; DROP TABLE rotations; DROP TABLE key_schedule; DROP TABLE lifecycle_policies; DROP TABLE data_sources; ALTER TABLE audit_events DROP COLUMN reason; ALTER TABLE audit_events DROP COLUMN request_id; ALTER TABLE audit_events DROP COLUMN client; ALTER TABLE audit_events DROP COLUMN presented_token; DROP TABLE rewrap_failures; DROP TABLE rewrap_inventory; DROP TABLE rewrap_jobs; ALTER TABLE keys DROP COLUMN deletion_allowed; DROP TABLE audit_checkpoints; DROP TABLE audit_signing_keys; DROP TABLE tokens; DELETE FROM schema_migrations WHERE version > 1;");

        var upgraded = await OpenServiceAsync(Time);
        Assert.Equal(Plaintext, await upgraded.DecryptAsync(Key, envelope, Context));
        Assert.Equal(9L, Convert.ToInt64(await SqlAsync("SELECT count(*) FROM schema_migrations;"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(KeyVersionOrigin.Generated, Assert.Single(await upgraded.ListVersionsAsync(Key)).Origin);

        // A key from before the scheduler is due once, so a policy reaches it.
        Assert.Equal(0L, Convert.ToInt64(await SqlAsync("SELECT next_due FROM key_schedule;"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.False((await upgraded.GetKeyAsync(Key)).DeletionAllowed);
        Assert.NotNull(await upgraded.CheckpointAuditAsync());
        Assert.True((await upgraded.VerifyAuditAsync()).IsValid);
    }

    [Fact]
    public async Task Open_DatabaseFromNewerBuild_IsRefused()
    {
        await SqlAsync("INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0);");
        var e = await Assert.ThrowsAsync<RekeyStoreException>(() => OpenStoreAsync(Time));
        Assert.Contains("newer", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_SeveralInstancesAtOnce_OnOneStore_AllSucceed()
    {
        var stores = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => OpenStoreAsync(Time))));
        _opened.AddRange(stores);
        await Service.CreateKeyAsync(Key);
        Assert.All(stores, s => Assert.NotNull(s.FindKeyAsync(Key).GetAwaiter().GetResult()));
    }

    [Fact]
    [Trait("Category", "Race")]
    public async Task Rotate_SixteenRacersWithSameExpectedVersion_ExactlyOneWins()
    {
        await Service.CreateKeyAsync(Key);
        var services = await OpenServicesAsync(16);
        using var start = new Barrier(16);
        var outcomes = await Task.WhenAll(services.Select(s => Task.Run(async () =>
        {
            start.SignalAndWait();
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
        Assert.Equal(2, (await Service.GetKeyAsync(Key)).LatestVersion);
        Assert.Equal(2, (await Service.ReadAuditAsync()).Count);
    }

    [Fact]
    [Trait("Category", "Race")]
    public async Task Rotate_SixteenRacersWithoutExpectedVersion_AllSucceed_ContiguousAndAlwaysOneActive()
    {
        await Service.CreateKeyAsync(Key);
        var services = await OpenServicesAsync(16);
        var samples = new ConcurrentBag<long>();
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                samples.Add(Convert.ToInt64(await SqlAsync($"SELECT count(*) FROM key_versions WHERE key_name = '{Key}' AND state = 'Active';"), System.Globalization.CultureInfo.InvariantCulture));
            }
        });

        using var start = new Barrier(16);
        var results = await Task.WhenAll(services.Select(s => Task.Run(() =>
        {
            start.SignalAndWait();
            return s.RotateAsync(Key);
        })));
        await stop.CancelAsync();
        await sampler;

        Assert.Equal(Enumerable.Range(2, 16), results.Select(r => r.Version).Order());
        var versions = await Store.GetVersionsAsync(Key);
        Assert.Equal(Enumerable.Range(1, 17), versions.Select(v => v.Info.Version));
        Assert.Equal(17, Assert.Single(versions, v => v.Info.State == KeyVersionState.Active).Info.Version);
        Assert.NotEmpty(samples);
        Assert.All(samples, count => Assert.Equal(1L, count));
        Assert.True((await Service.VerifyAuditAsync()).IsValid);
    }

    [Fact]
    [Trait("Category", "Race")]
    public async Task OtherInstance_SeesRotationAndDisable_WithinOneSecond()
    {
        // Two instances with their own connections and the real clock, as two servers would run.
        var a = await OpenServiceAsync(TimeProvider.System);
        var b = await OpenServiceAsync(TimeProvider.System);
        await a.CreateKeyAsync(Key);
        var old = await b.EncryptAsync(Key, Plaintext, Context);
        Assert.Equal(Plaintext, await b.DecryptAsync(Key, old, Context));

        await a.RotateAsync(Key);
        var rotationSeen = await TimeUntilAsync(async () => EnvelopeReader.ReadHeader(await b.EncryptAsync(Key, Plaintext, Context)).Version == 2);
        Assert.True(rotationSeen < TimeSpan.FromSeconds(1), $"rotation seen after {rotationSeen.TotalMilliseconds:0} ms");

        await a.DisableAsync(Key, 1);
        var disableSeen = await TimeUntilAsync(async () =>
        {
            try
            {
                await b.DecryptAsync(Key, old, Context);
                return false;
            }
            catch (RekeyException e) when (e.Code == RekeyErrorCode.KeyDisabled)
            {
                return true;
            }
        });
        Assert.True(disableSeen < TimeSpan.FromSeconds(1), $"disable seen after {disableSeen.TotalMilliseconds:0} ms");
    }

    /// <summary>Creates the empty backing storage (a file, a database) for one test.</summary>
    protected abstract Task CreateBackingAsync(string directory);

    /// <summary>Opens a new store instance over the backing storage, with its own connections.</summary>
    protected abstract Task<IKeyStore> OpenStoreAsync(TimeProvider time);

    protected abstract Task DisposeBackingAsync();

    /// <summary>Runs raw SQL against the store's tables (unqualified names) and returns the first value.</summary>
    [Fact]
    public async Task RetiringVersions_PastTheirDeadline_AreFoundAndDisabled_OthersLeftAlone()
    {
        var other = KeyName.Parse("tenants/h42/other");
        await Service.CreateKeyAsync(Key);
        await Service.CreateKeyAsync(other);
        await Service.RotateAsync(Key);
        await Service.RotateAsync(other);
        await Service.RetireAsync(Key, 1, TimeSpan.Zero);
        await Service.RetireAsync(other, 1, TimeSpan.FromHours(1));

        var due = await Store.GetRetiringDueAsync(Time.GetUtcNow());
        Assert.Equal([(Key.Value, 1)], due.Select(v => (v.Info.Key.Value, v.Info.Version)));
        Assert.Equal(1, await Service.ExpireRetiredVersionsAsync());
        Assert.Equal(KeyVersionState.Disabled, (await Service.ListVersionsAsync(Key))[0].State);
        Assert.Equal(KeyVersionState.Retiring, (await Service.ListVersionsAsync(other))[0].State);
        Assert.Empty(await Store.GetRetiringDueAsync(Time.GetUtcNow()));
    }

    [Fact]
    public async Task Verify_ReportsAVersionStateEditedInTheDatabase()
    {
        await Service.CreateKeyAsync(Key);
        await Service.RotateAsync(Key);
        await Service.DisableAsync(Key, 1);
        await Service.RotateAsync(Key, new RotateOptions(Activate: false));
        await Service.ActivateAsync(Key, 3);
        Assert.True((await Service.VerifyAuditAsync()).IsValid, (await Service.VerifyAuditAsync()).Problem);

        await SqlAsync($"UPDATE key_versions SET state = 'DecryptOnly' WHERE key_name = '{Key.Value}' AND version = 1;");
        var result = await Service.VerifyAuditAsync();
        Assert.False(result.IsValid);
        Assert.Contains($"key '{Key}' version 1 is DecryptOnly in the store but Disabled according to the audit log", result.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("UPDATE key_versions SET state = 'Active' WHERE version = 1;", "2 Active versions")]
    [InlineData("UPDATE key_versions SET state = 'Bogus' WHERE version = 1;", "the state 'Bogus'")]
    public async Task ImpossibleRows_AreAClearIntegrityError(string tamper, string expected)
    {
        await Service.CreateKeyAsync(Key);
        await Service.RotateAsync(Key);
        await TamperStatesAsync(tamper);
        await using var fresh = await OpenServiceAsync(Time);
        var e = await Assert.ThrowsAsync<RekeyStoreException>(() => fresh.GetKeyAsync(Key));
        Assert.True(e.IsIntegrityFailure);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("changed outside Rekey", e.Message, StringComparison.Ordinal);
        var verdict = await fresh.VerifyAuditAsync();
        Assert.False(verdict.IsValid);
        Assert.Contains(expected, verdict.Problem, StringComparison.Ordinal);
    }

    protected abstract Task<object?> SqlAsync(string sql);

    /// <summary>Runs <paramref name="sql"/> past the constraints that keep one Active version per key and known state names, as a database owner could.</summary>
    protected abstract Task TamperStatesAsync(string sql);

    protected abstract void SetAfterVersionUpdates(IKeyStore store, Action? hook);

    /// <summary>Removes the append-only guards, as someone with write access to the database could.</summary>
    protected abstract Task DropAuditGuardsAsync();

    /// <summary>True when the bytes appear anywhere in what the store has persisted.</summary>
    protected abstract Task<bool> PersistedDataContainsAsync(byte[] needle);

    private AuditRecord TokenAudit(string action, string id) => new(Time.GetUtcNow(), "admin", action, null, null, null, "success", "token " + id);

    protected async Task<RekeyService> OpenServiceAsync(TimeProvider time)
    {
        var store = await OpenStoreAsync(time);
        var service = new RekeyService(store, Root, new RekeyServiceOptions(), time);
        _opened.Add(service);
        _opened.Add(store);
        return service;
    }

    private async Task<List<RekeyService>> OpenServicesAsync(int count)
    {
        var services = new List<RekeyService>(count);
        for (var i = 0; i < count; i++)
        {
            services.Add(await OpenServiceAsync(Time));
        }

        return services;
    }

    private static async Task<TimeSpan> TimeUntilAsync(Func<Task<bool>> condition)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(5))
        {
            if (await condition())
            {
                return watch.Elapsed;
            }

            // A blocking sleep, not Task.Delay: a timer's continuation waits for the thread pool,
            // which the test host keeps busy, and would make this stopwatch, not the store, late.
            Thread.Sleep(10);
        }

        return watch.Elapsed;
    }
}
