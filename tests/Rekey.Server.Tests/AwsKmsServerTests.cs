using System.Net;
using Rekey.Access;
using Rekey.Client;
using Rekey.Envelope;
using Rekey.Keys;
using Rekey.Server.Hosting;
using Rekey.Testing;

namespace Rekey.Server.Tests;

/// <summary>The server rooted in (moto's) AWS KMS: the journey, and a KMS that stops answering.</summary>
[Collection(nameof(MotoServer))]
public sealed class AwsKmsServerTests(MotoServer moto)
{
    [Fact]
    public async Task AServerRootedInKms_ServesTheJourney_Answers503WhileKmsIsSilent_AndRecovers()
    {
        var directory = Directory.CreateTempSubdirectory("rekey-kms-server-").FullName;
        var options = new RekeyServerOptions { Store = Path.Combine(directory, "rekey.db"), Root = moto.Spec, Listen = "http://127.0.0.1:0" };
        var key = KeyName.Parse("tenants/h42/patients");
        var context = EncryptionContext.From("id=1");
        try
        {
            await using var host = await RekeyServerHost.StartAsync(options);
            var (_, secret) = await host.IssueTokenAsync("admin", new HashSet<Role> { Role.Admin }, [KeyPattern.All]);
            using var client = new RekeyClient(host.Address, secret);
            using var http = new HttpClient { BaseAddress = host.Address };
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", secret);
            await client.CreateKeyAsync(key);
            var envelope = await client.EncryptAsync(key, "record"u8.ToArray(), context);

            moto.Signal("STOP");
            try
            {
                using var rotate = await http.PostAsync("/v1/rotate/" + key.Value, new StringContent("{}"));
                Assert.Equal(HttpStatusCode.ServiceUnavailable, rotate.StatusCode);
                Assert.Contains("RootKeyUnavailable", await rotate.Content.ReadAsStringAsync(), StringComparison.Ordinal);
                Assert.Single(await client.ListVersionsAsync(key));

                // What the cache holds keeps working.
                Assert.Equal("record"u8.ToArray(), await client.DecryptAsync(key, envelope, context));
            }
            finally
            {
                moto.Signal("CONT");
            }

            await client.RotateAsync(key);
            Assert.Equal(2, EnvelopeReader.ReadVersion(await client.RewrapAsync(key, envelope)));
            Assert.True((await client.VerifyAuditAsync(new Audit.AuditVerifyOptions())).IsValid);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }
}
