using Rekey.Access;
using Rekey.Client;
using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Server.Hosting;
using Rekey.Testing;

namespace Rekey.Server.Tests;

/// <summary>The server rooted in the SoftHSM2 token, configured as an operator would: one root setting.</summary>
[Collection(nameof(SoftHsm))]
public sealed class Pkcs11ServerTests(SoftHsm hsm)
{
    private const string PinVariable = "REKEY_TEST_SERVER_PIN";

    [Fact]
    public async Task AServerRootedInTheHsm_ServesTheJourney_AndKeepsItsKeysAcrossARestart()
    {
        Environment.SetEnvironmentVariable(PinVariable, SoftHsm.Pin);
        var directory = Directory.CreateTempSubdirectory("rekey-pkcs11-server-").FullName;
        var options = new RekeyServerOptions
        {
            Store = Path.Combine(directory, "rekey.db"),
            Root = $"pkcs11:library={hsm.Library};token={SoftHsm.Token};key={SoftHsm.KeyLabel};pin-env={PinVariable}",
            Listen = "http://127.0.0.1:0",
        };
        var key = KeyName.Parse("tenants/h42/patients");
        var context = EncryptionContext.From("id=1");
        try
        {
            byte[] envelope;
            await using (var host = await RekeyServerHost.StartAsync(options))
            {
                var (_, secret) = await host.IssueTokenAsync("admin", new HashSet<Role> { Role.Admin }, [KeyPattern.All]);
                using var client = new RekeyClient(host.Address, secret);
                await client.CreateKeyAsync(key);
                envelope = await client.EncryptAsync(key, "record"u8.ToArray(), context);
                await client.RotateAsync(key);
                Assert.NotNull(await client.CheckpointAuditAsync());
            }

            await using (var host = await RekeyServerHost.StartAsync(options))
            {
                var (_, secret) = await host.IssueTokenAsync("admin", new HashSet<Role> { Role.Admin }, [KeyPattern.All]);
                using var client = new RekeyClient(host.Address, secret);
                Assert.Equal("record"u8.ToArray(), await client.DecryptAsync(key, envelope, context));
                Assert.Equal(2, EnvelopeReader.ReadVersion(await client.RewrapAsync(key, envelope)));
                Assert.True((await client.VerifyAuditAsync(new Audit.AuditVerifyOptions())).IsValid);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task AWrongHsmSetting_StopsTheServerAtStart_NamingWhatIsWrong()
    {
        Environment.SetEnvironmentVariable(PinVariable, SoftHsm.Pin);
        var directory = Directory.CreateTempSubdirectory("rekey-pkcs11-server-").FullName;
        try
        {
            async Task<string> StartAsync(string root)
            {
                var options = new RekeyServerOptions { Store = Path.Combine(directory, "rekey.db"), Root = root, Listen = "http://127.0.0.1:0" };
                var e = await Assert.ThrowsAnyAsync<Exception>(async () => await (await RekeyServerHost.StartAsync(options)).DisposeAsync());
                return e.Message;
            }

            Assert.Contains("no AES key labelled 'absent'", await StartAsync($"pkcs11:library={hsm.Library};token={SoftHsm.Token};key=absent;pin-env={PinVariable}"), StringComparison.Ordinal);
            Assert.Contains("REKEY_TEST_NO_SUCH_PIN, which is not set", await StartAsync($"pkcs11:library={hsm.Library};token={SoftHsm.Token};key={SoftHsm.KeyLabel};pin-env=REKEY_TEST_NO_SUCH_PIN"), StringComparison.Ordinal);
            Assert.Contains("not a kind this build knows", await StartAsync("vault:transit/rekey"), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
