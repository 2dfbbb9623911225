using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Root;
using Rekey.Testing;

namespace Rekey.Storage.Sqlite.Tests;

/// <summary>
/// A store whose material is wrapped under two roots (a move from one root to another): each
/// version is unwrapped by the root whose id it records, a missing root is named, and a root that
/// cannot be reached now is not taken for tampering.
/// </summary>
public sealed class RootKeyRingTests : IAsyncLifetime
{
    private static readonly KeyName Key = KeyName.Parse("tenants/h42/records");
    private static readonly EncryptionContext Context = EncryptionContext.From("id=1");
    private readonly string _dir = Directory.CreateTempSubdirectory("rekey-ring-").FullName;
    private SqliteKeyStore _store = null!;
    private LocalRootKeyProvider _old = null!;
    private LocalRootKeyProvider _new = null!;

    public async Task InitializeAsync()
    {
        _store = await SqliteKeyStore.OpenAsync(Path.Combine(_dir, "rekey.db"), changePollInterval: TimeSpan.Zero);
        _old = LocalRootKeyProvider.CreateKeyFile(Path.Combine(_dir, "old.key"));
        _new = LocalRootKeyProvider.CreateKeyFile(Path.Combine(_dir, "new.key"));
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        _old.Dispose();
        _new.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task VersionsUnderTwoRoots_EachUnwrapsUnderItsOwn_AndAMissingRootIsNamed()
    {
        byte[] early;
        await using (var before = new RekeyService(_store, _old))
        {
            await before.CreateKeyAsync(Key);
            early = await before.EncryptAsync(Key, "early"u8.ToArray(), Context);
            await before.CheckpointAuditAsync();
        }

        byte[] late;
        await using (var moving = new RekeyService(_store, new RootKeyRing(_new, _old)))
        {
            await moving.RotateAsync(Key);
            late = await moving.EncryptAsync(Key, "late"u8.ToArray(), Context);
            Assert.Equal("early"u8.ToArray(), await moving.DecryptAsync(Key, early, Context));
            Assert.Equal("late"u8.ToArray(), await moving.DecryptAsync(Key, late, Context));
            var verdict = await moving.VerifyAuditAsync();
            Assert.True(verdict.IsValid, verdict.Problem);
            Assert.Equal(1, verdict.SigningKeysProven);
        }

        var stored = await _store.GetVersionsAsync(Key);
        Assert.Equal([_old.KeyId, _new.KeyId], stored.Select(v => v.RootKeyId));

        await using var after = new RekeyService(_store, _new);
        Assert.Equal("late"u8.ToArray(), await after.DecryptAsync(Key, late, Context));
        var missing = await Assert.ThrowsAsync<RekeyException>(async () => await after.DecryptAsync(Key, early, Context));
        Assert.Equal(RekeyErrorCode.RootKeyUnavailable, missing.Code);
        Assert.Contains(_old.KeyId, missing.Message, StringComparison.Ordinal);
        Assert.Contains(_new.KeyId, missing.Message, StringComparison.Ordinal);

        // The signing key the old root made is not proven by the new root alone, and the verdict says which root it names.
        var unproven = await after.VerifyAuditAsync();
        Assert.False(unproven.IsValid);
        Assert.Contains("not made under this store's root key: it names root key " + _old.KeyId, unproven.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RootUnreachableNow_FailsVerificationAsUnavailable_NotAsTampering()
    {
        var flaky = new SwitchableRoot(_old);
        await using var service = new RekeyService(_store, flaky);
        await service.CreateKeyAsync(Key);
        await service.CheckpointAuditAsync();
        Assert.True((await service.VerifyAuditAsync()).IsValid);

        flaky.Reachable = false;
        var error = await Assert.ThrowsAsync<RekeyException>(() => service.VerifyAuditAsync());
        Assert.Equal(RekeyErrorCode.RootKeyUnavailable, error.Code);

        flaky.Reachable = true;
        Assert.True((await service.VerifyAuditAsync()).IsValid);
    }

    [Fact]
    public void Ring_RefusesTheSameRootTwice()
    {
        Assert.Throws<ArgumentException>(() => new RootKeyRing(_old, _new, _old));
        Assert.Equal([_new.KeyId, _old.KeyId], new RootKeyRing(_new, _old).KeyIds);
    }

    /// <summary>A real root behind a switch: an HSM or KMS that is down for a while.</summary>
    private sealed class SwitchableRoot(IRootKeyProvider inner) : IRootKeyProvider
    {
        public bool Reachable { get; set; } = true;

        public string KeyId => inner.KeyId;

        public ValueTask<byte[]> WrapAsync(ReadOnlyMemory<byte> material, ReadOnlyMemory<byte> binding, CancellationToken cancellationToken = default) =>
            Reachable ? inner.WrapAsync(material, binding, cancellationToken) : throw Down();

        public ValueTask<byte[]> UnwrapAsync(ReadOnlyMemory<byte> wrapped, ReadOnlyMemory<byte> binding, CancellationToken cancellationToken = default) =>
            Reachable ? inner.UnwrapAsync(wrapped, binding, cancellationToken) : throw Down();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private static RekeyException Down() => new(RekeyErrorCode.RootKeyUnavailable, "The root key's device does not answer.");
    }
}
