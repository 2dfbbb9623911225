using System.Text;
using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Keys;

namespace Rekey.Storage.Sqlite.Tests;

/// <summary>The library's whole behaviour over a real SQLite store.</summary>
public sealed class RekeyServiceTests : IAsyncLifetime
{
    private static readonly EncryptionContext Context = EncryptionContext.From("tenant=h42;table=patients;id=17");
    private static readonly byte[] Plaintext = Encoding.UTF8.GetBytes("Jane Doe, 1970-01-01");
    private static readonly KeyName Key = SqliteFixture.Name("tenants/h42/patients");
    private SqliteFixture _f = null!;

    public async Task InitializeAsync() => _f = await SqliteFixture.CreateAsync();

    public async Task DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task CreateKey_StartsWithVersionOneActive()
    {
        var info = await _f.Service.CreateKeyAsync(Key);
        Assert.Equal(1, info.ActiveVersion);
        var versions = await _f.Service.ListVersionsAsync(Key);
        Assert.Equal(KeyVersionState.Active, Assert.Single(versions).State);
    }

    [Fact]
    public async Task CreateKey_Twice_IsKeyExists()
    {
        await _f.Service.CreateKeyAsync(Key);
        var e = await Assert.ThrowsAsync<RekeyException>(() => _f.Service.CreateKeyAsync(Key));
        Assert.Equal(RekeyErrorCode.KeyExists, e.Code);
    }

    [Fact]
    public async Task EncryptDecrypt_RoundTrips_AndHeaderNamesKeyAndVersion()
    {
        await _f.Service.CreateKeyAsync(Key);
        var envelope = await _f.Service.EncryptAsync(Key, Plaintext, Context);
        var header = EnvelopeReader.ReadHeader(envelope);
        Assert.Equal((Key, 1), (header.Key, header.Version));
        Assert.Equal(Plaintext, await _f.Service.DecryptAsync(Key, envelope, Context));
    }

    [Fact]
    public async Task DecryptAndRewrap_UnderAnotherKey_AreRefusedInCore_WithNothingCounted()
    {
        var other = SqliteFixture.Name("tenants/h43/patients");
        await _f.Service.CreateKeyAsync(Key);
        await _f.Service.CreateKeyAsync(other);
        var theirs = await _f.Service.EncryptAsync(other, Plaintext, Context);
        await _f.Service.FlushUsageAsync();

        var decrypt = await Assert.ThrowsAsync<RekeyException>(async () => await _f.Service.DecryptAsync(Key, theirs, Context));
        Assert.Equal(RekeyErrorCode.InvalidRequest, decrypt.Code);
        Assert.Contains($"under key '{other}', not '{Key}'", decrypt.Message, StringComparison.Ordinal);
        var rewrap = await Assert.ThrowsAsync<RekeyException>(async () => await _f.Service.RewrapAsync(Key, theirs));
        Assert.Equal(RekeyErrorCode.InvalidRequest, rewrap.Code);

        // The data plane on its own refuses the same way: it is what a component that only decrypts is given.
        ICryptoService crypto = _f.Service.Crypto;
        await Assert.ThrowsAsync<RekeyException>(async () => await crypto.DecryptAsync(Key, theirs, Context));
        await _f.Service.FlushUsageAsync();
        Assert.All(await _f.Service.ListVersionsAsync(other), v => Assert.Equal(0, v.DecryptCount));
        Assert.Equal(Plaintext, await crypto.DecryptAsync(other, theirs, Context));
    }

    [Fact]
    public async Task Encrypt_UnknownKey_IsKeyNotFound()
    {
        var e = await Assert.ThrowsAsync<RekeyException>(async () => await _f.Service.EncryptAsync(Key, Plaintext, Context));
        Assert.Equal(RekeyErrorCode.KeyNotFound, e.Code);
    }

    [Fact]
    public async Task Rotate_OldCiphertextStillDecrypts_NewUsesNewVersion()
    {
        await _f.Service.CreateKeyAsync(Key);
        var old = await _f.Service.EncryptAsync(Key, Plaintext, Context);
        var rotated = await _f.Service.RotateAsync(Key);
        Assert.Equal(2, rotated.Version);

        Assert.Equal(Plaintext, await _f.Service.DecryptAsync(Key, old, Context));
        Assert.Equal(2, EnvelopeReader.ReadHeader(await _f.Service.EncryptAsync(Key, Plaintext, Context)).Version);
        var states = (await _f.Service.ListVersionsAsync(Key)).Select(v => v.State);
        Assert.Equal([KeyVersionState.DecryptOnly, KeyVersionState.Active], states);
    }

    [Fact]
    public async Task Rotate_WithStaleExpectedVersion_IsConflict_AndChangesNothing()
    {
        await _f.Service.CreateKeyAsync(Key);
        await _f.Service.RotateAsync(Key, new RotateOptions(ExpectedActiveVersion: 1));
        var e = await Assert.ThrowsAsync<RekeyException>(() => _f.Service.RotateAsync(Key, new RotateOptions(ExpectedActiveVersion: 1)));
        Assert.Equal(RekeyErrorCode.Conflict, e.Code);
        Assert.Equal(2, (await _f.Service.GetKeyAsync(Key)).LatestVersion);
    }

    [Fact]
    public async Task Rotate_Pending_ThenActivate_SwapsActive()
    {
        await _f.Service.CreateKeyAsync(Key);
        var pending = await _f.Service.RotateAsync(Key, new RotateOptions(Activate: false));
        Assert.Equal(KeyVersionState.Pending, pending.State);
        Assert.Equal(1, EnvelopeReader.ReadHeader(await _f.Service.EncryptAsync(Key, Plaintext, Context)).Version);

        await _f.Service.ActivateAsync(Key, 2);
        Assert.Equal(2, EnvelopeReader.ReadHeader(await _f.Service.EncryptAsync(Key, Plaintext, Context)).Version);
        Assert.Equal([KeyVersionState.DecryptOnly, KeyVersionState.Active], (await _f.Service.ListVersionsAsync(Key)).Select(v => v.State));
    }

    [Fact]
    public async Task Rewrap_MovesToActive_KeepsDataBytes_AndDecrypts()
    {
        await _f.Service.CreateKeyAsync(Key);
        var old = await _f.Service.EncryptAsync(Key, Plaintext, Context);
        await _f.Service.RotateAsync(Key);
        var rewrapped = await _f.Service.RewrapAsync(Key, old);

        Assert.Equal(2, EnvelopeReader.ReadHeader(rewrapped).Version);
        var dataStart = 5 + Key.Value.Length + 5 + 40;
        Assert.Equal(old[dataStart..], rewrapped[dataStart..]);
        Assert.Equal(Plaintext, await _f.Service.DecryptAsync(Key, rewrapped, Context));
        Assert.Equal(rewrapped, await _f.Service.RewrapAsync(Key, rewrapped));
    }

    [Fact]
    public async Task Decrypt_EverySingleBitFlip_IsDecryptionFailed()
    {
        await _f.Service.CreateKeyAsync(Key);
        await _f.Service.RotateAsync(Key);
        await _f.Service.RotateAsync(Key);
        var envelope = await _f.Service.EncryptAsync(Key, Plaintext, Context);
        for (var bit = 0; bit < envelope.Length * 8; bit++)
        {
            var tampered = (byte[])envelope.Clone();
            tampered[bit / 8] ^= (byte)(1 << (bit % 8));
            var e = await Assert.ThrowsAsync<RekeyException>(async () => await _f.Service.DecryptAsync(Key, tampered, Context));

            // A flip in the key name that still parses names another key, which is refused as
            // such before any key is used; every other flip is the one decryption error.
            var namesAnother = TryReadKey(tampered) is { } named && named != Key;
            Assert.Equal(namesAnother ? RekeyErrorCode.InvalidRequest : RekeyErrorCode.DecryptionFailed, e.Code);
        }
    }

    private static KeyName? TryReadKey(byte[] envelope)
    {
        try
        {
            return EnvelopeReader.ReadHeader(envelope).Key;
        }
        catch (RekeyException)
        {
            return null;
        }
    }

    [Fact]
    public async Task Decrypt_MovedToAnotherKey_IsDecryptionFailed()
    {
        var a = SqliteFixture.Name("tenants/h42/aaaaaaaa");
        var b = SqliteFixture.Name("tenants/h42/bbbbbbbb");
        await _f.Service.CreateKeyAsync(a);
        await _f.Service.CreateKeyAsync(b);
        var envelope = await _f.Service.EncryptAsync(a, Plaintext, Context);
        var moved = (byte[])envelope.Clone();
        Encoding.ASCII.GetBytes(b.Value).CopyTo(moved, 5);
        var e = await Assert.ThrowsAsync<RekeyException>(async () => await _f.Service.DecryptAsync(b, moved, Context));
        Assert.Equal(RekeyErrorCode.DecryptionFailed, e.Code);
    }

    [Fact]
    public async Task Decrypt_WrongContext_IsDecryptionFailed()
    {
        await _f.Service.CreateKeyAsync(Key);
        var envelope = await _f.Service.EncryptAsync(Key, Plaintext, Context);
        var e = await Assert.ThrowsAsync<RekeyException>(async () => await _f.Service.DecryptAsync(Key, envelope, EncryptionContext.From("tenant=h43;table=patients;id=17")));
        Assert.Equal(RekeyErrorCode.DecryptionFailed, e.Code);
    }

    [Fact]
    public async Task Decrypt_UnknownKey_IsDecryptionFailed_NotAnExistenceOracle()
    {
        await _f.Service.CreateKeyAsync(Key);
        var envelope = await _f.Service.EncryptAsync(Key, Plaintext, Context);
        await using var other = await SqliteFixture.CreateAsync();
        var e = await Assert.ThrowsAsync<RekeyException>(async () => await other.Service.DecryptAsync(Key, envelope, Context));
        Assert.Equal(RekeyErrorCode.DecryptionFailed, e.Code);
    }

    public static TheoryData<KeyVersionState, RekeyErrorCode?, RekeyErrorCode?> StateCases() => new()
    {
        // state of version 1 (version 2 is Active), decrypt refusal, rewrap-source refusal
        { KeyVersionState.DecryptOnly, null, null },
        { KeyVersionState.Retiring, null, null },
        { KeyVersionState.Disabled, RekeyErrorCode.KeyDisabled, RekeyErrorCode.KeyDisabled },
        { KeyVersionState.DestroyScheduled, RekeyErrorCode.KeyDisabled, RekeyErrorCode.KeyDisabled },
        { KeyVersionState.Destroyed, RekeyErrorCode.KeyDestroyed, RekeyErrorCode.KeyDestroyed },
    };

    [Theory]
    [MemberData(nameof(StateCases))]
    public async Task OldVersionInEachState_DecryptAndRewrapFollowTheTable(KeyVersionState state, RekeyErrorCode? decryptRefusal, RekeyErrorCode? rewrapRefusal)
    {
        await using var f = await SqliteFixture.CreateAsync(destructionDelay: TimeSpan.Zero);
        await f.Service.CreateKeyAsync(Key);
        var old = await f.Service.EncryptAsync(Key, Plaintext, Context);
        await f.Service.RotateAsync(Key);
        await MoveVersionOneTo(f, state);

        Assert.Equal(state, (await f.Service.ListVersionsAsync(Key))[0].State);
        await AssertOutcome(decryptRefusal, async () => Assert.Equal(Plaintext, await f.Service.DecryptAsync(Key, old, Context)));
        await AssertOutcome(rewrapRefusal, async () => Assert.Equal(2, EnvelopeReader.ReadHeader(await f.Service.RewrapAsync(Key, old)).Version));
    }

    [Fact]
    public async Task PendingVersion_DecryptsButDoesNotEncrypt()
    {
        await _f.Service.CreateKeyAsync(Key);
        await _f.Service.RotateAsync(Key, new RotateOptions(Activate: false));
        Assert.Equal(1, EnvelopeReader.ReadHeader(await _f.Service.EncryptAsync(Key, Plaintext, Context)).Version);
    }

    [Fact]
    public async Task Disable_ActiveVersion_IsTransitionNotAllowed_AndAudited()
    {
        await _f.Service.CreateKeyAsync(Key);
        var e = await Assert.ThrowsAsync<RekeyException>(() => _f.Service.DisableAsync(Key, 1));
        Assert.Equal(RekeyErrorCode.TransitionNotAllowed, e.Code);
        var last = (await _f.Service.ReadAuditAsync()).Last();
        Assert.Equal(("version.disable", "refused:TransitionNotAllowed"), (last.Record.Action, last.Record.Outcome));
    }

    [Fact]
    public async Task Destroy_BeforeDelay_IsDestructionNotDue_AfterDelayErases()
    {
        await _f.Service.CreateKeyAsync(Key);
        await _f.Service.RotateAsync(Key);
        await _f.Service.DisableAsync(Key, 1);
        await _f.Service.ScheduleDestroyAsync(Key, 1);

        var e = await Assert.ThrowsAsync<RekeyException>(() => _f.Service.DestroyAsync(Key, 1));
        Assert.Equal(RekeyErrorCode.DestructionNotDue, e.Code);

        _f.Time.Advance(TimeSpan.FromHours(24));
        var destroyed = await _f.Service.DestroyAsync(Key, 1);
        Assert.Equal(KeyVersionState.Destroyed, destroyed.State);
        Assert.Equal(_f.Time.GetUtcNow(), destroyed.DestroyedAt);
    }

    [Fact]
    public async Task CancelDestroy_ReturnsToDisabled_ThenEnableDecryptsAgain()
    {
        await _f.Service.CreateKeyAsync(Key);
        var old = await _f.Service.EncryptAsync(Key, Plaintext, Context);
        await _f.Service.RotateAsync(Key);
        await _f.Service.DisableAsync(Key, 1);
        await _f.Service.ScheduleDestroyAsync(Key, 1);
        await _f.Service.CancelDestroyAsync(Key, 1);
        await _f.Service.EnableAsync(Key, 1);
        Assert.Equal(Plaintext, await _f.Service.DecryptAsync(Key, old, Context));
    }

    [Fact]
    public async Task MinDecryptionVersion_RefusesOlder_AndCannotPassActive()
    {
        await _f.Service.CreateKeyAsync(Key);
        var old = await _f.Service.EncryptAsync(Key, Plaintext, Context);
        await _f.Service.RotateAsync(Key);
        await _f.Service.SetMinDecryptionVersionAsync(Key, 2);

        var e = await Assert.ThrowsAsync<RekeyException>(async () => await _f.Service.DecryptAsync(Key, old, Context));
        Assert.Equal(RekeyErrorCode.VersionTooOld, e.Code);
        var tooHigh = await Assert.ThrowsAsync<RekeyException>(() => _f.Service.SetMinDecryptionVersionAsync(Key, 3));
        Assert.Equal(RekeyErrorCode.PolicyViolation, tooHigh.Code);
    }

    [Fact]
    public async Task Disable_ByAnotherInstance_StopsDecryptHereAfterCacheTtl()
    {
        await _f.Service.CreateKeyAsync(Key);
        var old = await _f.Service.EncryptAsync(Key, Plaintext, Context);
        await _f.Service.RotateAsync(Key);
        Assert.Equal(Plaintext, await _f.Service.DecryptAsync(Key, old, Context));

        await using (var other = _f.OpenSecondService())
        {
            await other.DisableAsync(Key, 1);
        }

        _f.Time.Advance(TimeSpan.FromSeconds(1));
        var e = await Assert.ThrowsAsync<RekeyException>(async () => await _f.Service.DecryptAsync(Key, old, Context));
        Assert.Equal(RekeyErrorCode.KeyDisabled, e.Code);
    }

    [Fact]
    public async Task Usage_IsCountedAndFlushed()
    {
        await _f.Service.CreateKeyAsync(Key);
        var envelope = await _f.Service.EncryptAsync(Key, Plaintext, Context);
        await _f.Service.EncryptAsync(Key, Plaintext, Context);
        await _f.Service.DecryptAsync(Key, envelope, Context);
        await _f.Service.FlushUsageAsync();
        var v1 = Assert.Single(await _f.Service.ListVersionsAsync(Key));
        Assert.Equal((2, 1), (v1.EncryptCount, v1.DecryptCount));
    }

    [Fact]
    public async Task Audit_RecordsEveryChange_AndVerifies()
    {
        await _f.Service.CreateKeyAsync(Key, change: new ChangeContext("alice", "initial"));
        await _f.Service.RotateAsync(Key, change: new ChangeContext("bob", "INC-42"));
        await _f.Service.DisableAsync(Key, 1);

        var events = await _f.Service.ReadAuditAsync();
        Assert.Equal(["key.create", "key.rotate", "version.disable"], events.Select(e => e.Record.Action));
        Assert.Equal(("bob", 1, 2), (events[1].Record.Actor, events[1].Record.FromVersion, events[1].Record.ToVersion));
        Assert.Equal("INC-42", events[1].Record.Reason);
        var result = await _f.Service.VerifyAuditAsync();
        Assert.True(result.IsValid, result.Problem);
        Assert.Equal(3, result.Head!.Value.Sequence);
    }

    private static async Task MoveVersionOneTo(SqliteFixture f, KeyVersionState state)
    {
        switch (state)
        {
            case KeyVersionState.DecryptOnly:
                return;
            case KeyVersionState.Retiring:
                await f.Service.RetireAsync(Key, 1, TimeSpan.FromDays(7));
                return;
        }

        await f.Service.DisableAsync(Key, 1);
        if (state == KeyVersionState.Disabled)
        {
            return;
        }

        await f.Service.ScheduleDestroyAsync(Key, 1);
        if (state == KeyVersionState.Destroyed)
        {
            await f.Service.DestroyAsync(Key, 1);
        }
    }

    private static async Task AssertOutcome(RekeyErrorCode? refusal, Func<Task> action)
    {
        if (refusal is null)
        {
            await action();
            return;
        }

        var e = await Assert.ThrowsAsync<RekeyException>(action);
        Assert.Equal(refusal, e.Code);
    }
}
