using System.Net;
using System.Security.Cryptography.X509Certificates;
using Rekey.Server.Hosting;

namespace Rekey.Server.Tests;

/// <summary>HTTPS from PEM files: served, reloaded on change for new connections without dropping open ones, and refused when misconfigured.</summary>
public sealed class TlsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rekey-tls-").FullName;

    [Fact]
    public async Task RenewedCertificate_IsServedToNewConnections_WhileOpenOnesKeepWorking()
    {
        var first = Directory.CreateDirectory(Path.Combine(_dir, "first")).FullName;
        var second = Directory.CreateDirectory(Path.Combine(_dir, "second")).FullName;
        var (cert, key) = SelfSignedCertificate.Write(first);
        var (nextCert, nextKey) = SelfSignedCertificate.Write(second);
        await using var server = await ServerHarness.StartAsync(o =>
        {
            o.Listen = "https://127.0.0.1:0";
            o.TlsCert = cert;
            o.TlsKey = key;
        });
        Assert.Equal("https", server.Host.Address.Scheme);

        string? seen = null;
        using var open = Client(thumbprint => seen = thumbprint);
        Assert.Equal(HttpStatusCode.OK, (await open.GetAsync(new Uri(server.Host.Address, "/healthz"))).StatusCode);
        var original = seen;
        Assert.Equal(X509Certificate2.CreateFromPem(File.ReadAllText(cert)).Thumbprint, original);

        // Renewal: the files are replaced in place, as certbot or a secret mount would, and here
        // even keep their old timestamps: the change is seen in the contents.
        var (certTime, keyTime) = (File.GetLastWriteTimeUtc(cert), File.GetLastWriteTimeUtc(key));
        File.Copy(nextCert, cert, overwrite: true);
        File.Copy(nextKey, key, overwrite: true);
        File.SetLastWriteTimeUtc(cert, certTime);
        File.SetLastWriteTimeUtc(key, keyTime);
        var expected = X509Certificate2.CreateFromPem(File.ReadAllText(nextCert)).Thumbprint;
        string? renewed = null;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (renewed != expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
            using var fresh = Client(thumbprint => renewed = thumbprint);
            using var _ = await fresh.GetAsync(new Uri(server.Host.Address, "/healthz"));
        }

        Assert.Equal(expected, renewed);

        // The connection opened before the renewal was not dropped.
        seen = null;
        Assert.Equal(HttpStatusCode.OK, (await open.GetAsync(new Uri(server.Host.Address, "/healthz"))).StatusCode);
        Assert.Null(seen);
    }

    [Fact]
    public void Misconfigured_Tls_IsRefusedWithTheFix()
    {
        var (cert, _) = SelfSignedCertificate.Write(Directory.CreateDirectory(Path.Combine(_dir, "a")).FullName);
        var (_, otherKey) = SelfSignedCertificate.Write(Directory.CreateDirectory(Path.Combine(_dir, "b")).FullName);
        RekeyServerOptions With(string listen, string? c, string? k) => new() { Store = Path.Combine(_dir, "rekey.db"), RootKeyFile = Path.Combine(_dir, "root.key"), Listen = listen, TlsCert = c, TlsKey = k };

        Assert.Contains(With("https://127.0.0.1:8443", null, null).Validate(), p => p.Contains("needs a PEM certificate and key: set tls_cert and tls_key", StringComparison.Ordinal));
        Assert.Contains(With("http://127.0.0.1:8200", cert, otherKey).Validate(), p => p.Contains("listen on https://", StringComparison.Ordinal));
        Assert.Contains(With("https://127.0.0.1:8443", cert, otherKey).Validate(), p => p.Contains("cannot be used", StringComparison.Ordinal));
        Assert.DoesNotContain(With("127.0.0.1:8300", null, null).Validate(), p => p.Contains("listen address", StringComparison.Ordinal));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static HttpClient Client(Action<string> onCertificate) =>
        new(new SocketsHttpHandler
        {
            SslOptions = new System.Net.Security.SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    onCertificate(new X509Certificate2(certificate!).Thumbprint);
                    return true;
                },
            },
        });
}
