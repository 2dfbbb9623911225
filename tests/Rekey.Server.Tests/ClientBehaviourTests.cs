using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Rekey.Client;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Server.Hosting;

namespace Rekey.Server.Tests;

/// <summary>
/// The client's retries, timeout and trusted CA, against real sockets on loopback: a listener
/// that drops connections, one that answers 503, one that never answers, and a real HTTPS server.
/// </summary>
public sealed class ClientBehaviourTests : IDisposable
{
    private static readonly KeyName Key = KeyName.Parse("client/behaviour");
    private readonly string _dir = Directory.CreateTempSubdirectory("rekey-client-").FullName;

    [Fact]
    public async Task DroppedConnections_AReadIsRetried_ARotationIsNot()
    {
        using var server = new FaultyServer(FaultyServer.Fault.Drop);
        using var client = new RekeyClient(Options(server.Address));

        var rotate = await Assert.ThrowsAsync<RekeyStoreException>(() => client.RotateAsync(Key));
        Assert.True(rotate.IsTransient);
        Assert.Contains("cannot be reached", rotate.Message, StringComparison.Ordinal);

        Assert.Equal(1, server.Requests);

        // .NET's handler itself resends a GET whose connection closed before any answer byte (up
        // to 4 sends); the client's own 3 attempts come on top, so the count is a multiple of 3.
        server.Reset();
        var read = await Assert.ThrowsAsync<RekeyStoreException>(() => client.GetKeyAsync(Key));
        Assert.True(read.IsTransient);
        Assert.True(server.Requests >= 3 && server.Requests % 3 == 0, $"{server.Requests} requests");
    }

    [Fact]
    public async Task ServiceUnavailable_IsRetried_ThenReportedAsTransient()
    {
        using var server = new FaultyServer(FaultyServer.Fault.Unavailable);
        using var client = new RekeyClient(Options(server.Address));

        var error = await Assert.ThrowsAsync<RekeyStoreException>(() => client.ListTokensAsync());
        Assert.True(error.IsTransient);
        Assert.Equal(3, server.Requests);

        server.Reset();
        using var noRetries = new RekeyClient(Options(server.Address, retries: 0));
        await Assert.ThrowsAsync<RekeyStoreException>(() => noRetries.ListTokensAsync());
        Assert.Equal(1, server.Requests);
    }

    [Fact]
    public async Task SilentServer_TimesOut_AsTransient_WithoutRetrying()
    {
        using var server = new FaultyServer(FaultyServer.Fault.Silent);
        using var client = new RekeyClient(Options(server.Address, timeout: TimeSpan.FromMilliseconds(300)));
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<RekeyStoreException>(() => client.GetKeyAsync(Key));
        Assert.True(error.IsTransient);
        Assert.Contains("did not answer GET /v1/keys/client/behaviour within 0.3 s", error.Message, StringComparison.Ordinal);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10));
        Assert.Equal(1, server.Requests);
    }

    [Fact]
    public async Task CallersCancellation_IsNotReportedAsATimeout()
    {
        using var server = new FaultyServer(FaultyServer.Fault.Silent);
        using var client = new RekeyClient(Options(server.Address));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetKeyAsync(Key, cancel.Token));
    }

    [Fact]
    public async Task CaCertificateFile_TrustsAPrivateServer_OthersRefuseIt()
    {
        var (cert, key) = SelfSignedCertificate.Write(_dir);
        await using var server = await ServerHarness.StartAsync(o =>
        {
            o.Listen = "https://127.0.0.1:0";
            o.TlsCert = cert;
            o.TlsKey = key;
        });

        using var trusting = new RekeyClient(new RekeyClientOptions { Address = server.Host.Address, Token = server.AdminToken, CaCertificateFile = cert });
        Assert.Equal("test admin", (await trusting.GetSelfAsync()).Name);

        using var systemRoots = new RekeyClient(new RekeyClientOptions { Address = server.Host.Address, Token = server.AdminToken, MaxRetries = 0 });
        var refused = await Assert.ThrowsAsync<RekeyStoreException>(() => systemRoots.GetSelfAsync());
        Assert.Contains("cannot be reached", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadOptions_AreRefused_NamingEachProblem_AndNeverTheToken()
    {
        var error = Assert.Throws<RekeyException>(() => new RekeyClient(new RekeyClientOptions { Address = new Uri("ftp://x"), Token = " ", MaxRetries = -1 }));
        Assert.Equal(RekeyErrorCode.InvalidRequest, error.Code);
        Assert.Contains("not an http:// or https:// address", error.Message, StringComparison.Ordinal);
        Assert.Contains("Token is not set", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxRetries", error.Message, StringComparison.Ordinal);

        File.WriteAllText(Path.Combine(_dir, "not.pem"), "no certificate here");
        var badCa = Assert.Throws<RekeyException>(() => new RekeyClient(new RekeyClientOptions { Address = new Uri("https://127.0.0.1:1"), Token = "s3cret-token-value", CaCertificateFile = Path.Combine(_dir, "not.pem") }));
        Assert.Equal(RekeyErrorCode.InvalidRequest, badCa.Code);
        Assert.DoesNotContain("s3cret", badCa.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static RekeyClientOptions Options(Uri address, int retries = 2, TimeSpan? timeout = null) => new()
    {
        Address = address,
        Token = "token-for-a-server-that-misbehaves",
        MaxRetries = retries,
        RetryDelay = TimeSpan.FromMilliseconds(20),
        Timeout = timeout ?? TimeSpan.FromSeconds(10),
    };

    /// <summary>A loopback TCP listener that misbehaves one way, counting the requests it receives.</summary>
    private sealed class FaultyServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Fault _fault;
        private readonly CancellationTokenSource _stop = new();
        private readonly List<TcpClient> _held = [];
        private int _requests;

        public FaultyServer(Fault fault)
        {
            _fault = fault;
            _listener.Start();
            _ = AcceptAsync();
        }

        public enum Fault
        {
            Drop,
            Unavailable,
            Silent,
        }

        public Uri Address => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");

        /// <summary>Requests received whole (not connections: a client may open one it never uses).</summary>
        public int Requests => Volatile.Read(ref _requests);

        public void Reset() => Interlocked.Exchange(ref _requests, 0);

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            lock (_held)
            {
                _held.ForEach(c => c.Dispose());
            }

            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient connection;
                try
                {
                    connection = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
                {
                    return;
                }

                _ = HandleAsync(connection);
            }
        }

        private async Task HandleAsync(TcpClient connection)
        {
            try
            {
                switch (_fault)
                {
                    case Fault.Drop:
                        // The whole request is read first, so the client knows it was sent and lost.
                        if (await ReadHeadAsync(connection.GetStream()))
                        {
                            Interlocked.Increment(ref _requests);
                        }

                        connection.Client.LingerState = new LingerOption(true, 0);
                        connection.Dispose();
                        break;
                    case Fault.Unavailable:
                        var stream = connection.GetStream();
                        if (await ReadHeadAsync(stream))
                        {
                            Interlocked.Increment(ref _requests);
                        }

                        await stream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
                        connection.Dispose();
                        break;
                    default:
                        if (await ReadHeadAsync(connection.GetStream()))
                        {
                            Interlocked.Increment(ref _requests);
                        }

                        lock (_held)
                        {
                            _held.Add(connection);
                        }

                        break;
                }
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                connection.Dispose();
            }
        }

        private static async Task<bool> ReadHeadAsync(NetworkStream stream)
        {
            var buffer = new byte[4096];
            var seen = new StringBuilder();
            while (!seen.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer);
                if (read == 0)
                {
                    return false;
                }

                seen.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }

            return true;
        }
    }
}
