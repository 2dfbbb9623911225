using Rekey.Errors;
using Rekey.Keys;
using Rekey.Root;
using Rekey.Storage;

namespace Rekey.Testing.Conformance;

/// <summary>Root migration on every store and under every root the suite runs with.</summary>
public abstract partial class KeyStoreConformanceTests
{
    [Fact]
    public async Task RootMigration_MovesEveryKekSigningKeyAndSource_ToAnotherRootAndBack_AndEverythingStillReads()
    {
        var keys = Enumerable.Range(0, 5).Select(i => KeyName.Parse($"tenants/m{i}/k")).ToList();
        var envelopes = new List<(KeyName Key, byte[] Envelope)>();
        foreach (var key in keys)
        {
            await Service.CreateKeyAsync(key);
            envelopes.Add((key, (await Service.EncryptAsync(key, Plaintext, Context)).ToArray()));
            await Service.RotateAsync(key);
        }

        // A destroyed version holds no material and is not migrated; a signing key and a source are.
        await Service.DisableAsync(keys[0], 1);
        await Service.ScheduleDestroyAsync(keys[0], 1);
        await Service.DestroyAsync(keys[0], 1);
        envelopes.RemoveAt(0);
        Assert.NotNull(await Service.CheckpointAuditAsync());
        var connection = "Host=db;Password=s3cret"u8.ToArray();
        await ((IDataSourceStore)Store).AddDataSourceAsync(
            new StoredDataSource("app", "{}", await Root.WrapAsync(connection, RootBindings.ForDataSource("app")), Root.KeyId, Time.GetUtcNow()),
            new Audit.AuditRecord(Time.GetUtcNow(), "test", "source.register", null, null, null, "success", "source app"));
        var migrations = (IRootMigrationStore)Store;
        Assert.Equal(new RootUsage(Root.KeyId, 9, 1, 1), Assert.Single(await migrations.CountByRootAsync()));

        await using var other = LocalRootKeyProvider.CreateKeyFile(Path.Combine(_dir, "other.key"));
        var there = await new RootMigrator(migrations, new RootKeyRing(other, Root), Time).RunAsync(new RootMigrationOptions { BatchSize = 4, Actor = "officer" });
        Assert.Equal((11L, 3), (there.Moved, there.Batches));
        Assert.Equal(new RootUsage(other.KeyId, 9, 1, 1), Assert.Single(await migrations.CountByRootAsync()));
        Assert.Empty(await migrations.ListWrappedOutsideAsync(other.KeyId, 100));

        // A service that has only the new root reads everything: envelopes, the signed audit log, the source.
        await using (var moved = new RekeyService(Store, other, null, Time))
        {
            foreach (var (key, envelope) in envelopes)
            {
                Assert.Equal(Plaintext, (await moved.DecryptAsync(key, envelope, Context)).ToArray());
            }

            var verified = await moved.VerifyAuditAsync();
            Assert.True(verified.IsValid, verified.Problem);
            Assert.Equal(1, verified.CheckpointCount);
            var source = await ((IDataSourceStore)Store).FindDataSourceAsync("app");
            Assert.Equal(connection, await other.UnwrapAsync(source!.WrappedConnection, RootBindings.ForDataSource("app")));
        }

        var events = (await Service.ReadAuditAsync(0, 1000)).Where(e => e.Record.Action == "root.migrate").ToList();
        Assert.Equal(3, events.Count);
        Assert.All(events, e => Assert.Equal("officer", e.Record.Actor));
        Assert.Contains($"from root {Root.KeyId} to root {other.KeyId}", events[0].Record.Details, StringComparison.Ordinal);

        var back = await new RootMigrator(migrations, new RootKeyRing(Root, other), Time).RunAsync();
        Assert.Equal(11L, back.Moved);
        Assert.Equal(new RootUsage(Root.KeyId, 9, 1, 1), Assert.Single(await migrations.CountByRootAsync()));
        foreach (var (key, envelope) in envelopes)
        {
            Assert.Equal(Plaintext, (await Service.DecryptAsync(key, envelope, Context)).ToArray());
        }

        Assert.True((await Service.VerifyAuditAsync()).IsValid);
    }

    [Fact]
    public async Task RootMigration_WritesNothingOverASecretChangedSinceItWasRead_AndStateChangesNeverPutMaterialBack()
    {
        await Service.CreateKeyAsync(Key);
        var migrations = (IRootMigrationStore)Store;
        var read = Assert.Single(await migrations.ListWrappedOutsideAsync("elsewhere", 10));
        Assert.Equal((WrappedSecretKind.KeyVersion, Key.Value, 1, Root.KeyId), (read.Kind, read.Name, read.Version, read.RootKeyId));

        // As if another writer had changed the secret between the read and the write.
        var stale = read with { Wrapped = [.. read.Wrapped.Select(b => (byte)(b ^ 1))] };
        var events = (await Service.ReadAuditAsync()).Count;
        Assert.Equal(0, await migrations.ReplaceWrappedAsync([new WrappedSecretReplacement(stale, [1, 2, 3], "elsewhere")], n => throw new InvalidOperationException("no event for nothing written")));
        Assert.Equal(Root.KeyId, Assert.Single(await Store.GetVersionsAsync(Key)).RootKeyId);
        Assert.Equal(events, (await Service.ReadAuditAsync()).Count);

        // Moved under another root, then changed by a service that was opened before the move
        // (and still holds only the old root): the version stays where the migration put it.
        await using var other = LocalRootKeyProvider.CreateKeyFile(Path.Combine(_dir, "other.key"));
        await new RootMigrator(migrations, new RootKeyRing(other, Root), Time).RunAsync();
        await Service.RotateAsync(Key);
        var versions = await Store.GetVersionsAsync(Key);
        Assert.Equal((KeyVersionState.DecryptOnly, other.KeyId), (versions[0].Info.State, versions[0].RootKeyId));
        Assert.Equal(Root.KeyId, versions[1].RootKeyId);
    }

    [Fact]
    public async Task RootMigration_FromARootNotConfigured_IsRootKeyUnavailable_NamingIt_AndWritesNothing()
    {
        await Service.CreateKeyAsync(Key);
        await using var other = LocalRootKeyProvider.CreateKeyFile(Path.Combine(_dir, "other.key"));
        var e = await Assert.ThrowsAsync<RekeyException>(() => new RootMigrator((IRootMigrationStore)Store, new RootKeyRing(other), Time).RunAsync());
        Assert.Equal(RekeyErrorCode.RootKeyUnavailable, e.Code);
        Assert.Contains(Root.KeyId, e.Message, StringComparison.Ordinal);
        Assert.Contains("previous root", e.Message, StringComparison.Ordinal);
        Assert.Equal(Root.KeyId, Assert.Single(await Store.GetVersionsAsync(Key)).RootKeyId);
    }
}
