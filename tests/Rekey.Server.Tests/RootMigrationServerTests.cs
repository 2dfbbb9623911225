using Rekey.Access;
using Rekey.Client;
using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Root;
using Rekey.Server.Hosting;
using Rekey.Storage;
using Rekey.Storage.Sqlite;

namespace Rekey.Server.Tests;

/// <summary>A server given a new root and the old one as a previous root keeps serving through a root migration run beside it.</summary>
public sealed class RootMigrationServerTests : IDisposable
{
    private static readonly KeyName Key = KeyName.Parse("tenants/h42/patients");
    private static readonly EncryptionContext Context = EncryptionContext.From("id=1");
    private readonly string _directory = Directory.CreateTempSubdirectory("rekey-root-migration-server-").FullName;

    [Fact]
    public async Task TheServerReadsUnderBothRoots_ServesThroughTheMigration_AndAfterItNeedsOnlyTheNewRoot()
    {
        var oldRoot = Path.Combine(_directory, "old.key");
        var newRoot = Path.Combine(_directory, "new.key");
        LocalRootKeyProvider.CreateKeyFile(oldRoot).Dispose();
        LocalRootKeyProvider.CreateKeyFile(newRoot).Dispose();
        var store = Path.Combine(_directory, "rekey.db");
        RekeyServerOptions Options(string root, params string[] previous) => new() { Store = store, Root = root, PreviousRoots = previous, Listen = "http://127.0.0.1:0" };

        byte[] envelope;
        await using (var host = await RekeyServerHost.StartAsync(Options("file:" + oldRoot)))
        using (var client = await ClientAsync(host))
        {
            await client.CreateKeyAsync(Key);
            envelope = await client.EncryptAsync(Key, "record"u8.ToArray(), Context);
            await client.RotateAsync(Key);
            Assert.NotNull(await client.CheckpointAuditAsync());
        }

        // Without the old root a cold server cannot open the old KEKs: that is what previous roots are for.
        await using (var host = await RekeyServerHost.StartAsync(Options("file:" + newRoot)))
        using (var client = await ClientAsync(host))
        {
            var e = await Assert.ThrowsAsync<RekeyException>(async () => await client.DecryptAsync(Key, envelope, Context));
            Assert.Equal(RekeyErrorCode.RootKeyUnavailable, e.Code);
        }

        await using (var host = await RekeyServerHost.StartAsync(Options("file:" + newRoot, "file:" + oldRoot)))
        using (var client = await ClientAsync(host))
        {
            Assert.Equal("record"u8.ToArray(), await client.DecryptAsync(Key, envelope, Context));
            await client.RotateAsync(Key);

            // The migration runs beside the serving server, as 'rekey root migrate' does.
            await using (var migrating = await SqliteKeyStore.OpenAsync(store, changePollInterval: TimeSpan.Zero))
            await using (var fresh = LocalRootKeyProvider.OpenKeyFile(newRoot))
            await using (var stale = LocalRootKeyProvider.OpenKeyFile(oldRoot))
            {
                var moved = await new RootMigrator(migrating, new RootKeyRing(fresh, stale)).RunAsync(new RootMigrationOptions { BatchSize = 1 });
                Assert.Equal(3L, moved.Moved);
                var usage = Assert.Single(await ((IRootMigrationStore)migrating).CountByRootAsync());
                Assert.Equal((fresh.KeyId, 3L, 1L), (usage.RootKeyId, usage.KeyVersions, usage.SigningKeys));
            }

            Assert.Equal("record"u8.ToArray(), await client.DecryptAsync(Key, envelope, Context));
            Assert.Equal(3, EnvelopeReader.ReadVersion(await client.RewrapAsync(Key, envelope)));
            Assert.NotNull(await client.CheckpointAuditAsync());
        }

        await using (var host = await RekeyServerHost.StartAsync(Options("file:" + newRoot)))
        using (var client = await ClientAsync(host))
        {
            Assert.Equal("record"u8.ToArray(), await client.DecryptAsync(Key, envelope, Context));
            Assert.True((await client.VerifyAuditAsync(new Audit.AuditVerifyOptions())).IsValid);
        }
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static async Task<RekeyClient> ClientAsync(RekeyServerHost host)
    {
        var (_, secret) = await host.IssueTokenAsync("admin", new HashSet<Role> { Role.Admin }, [KeyPattern.All]);
        return new RekeyClient(host.Address, secret);
    }
}
