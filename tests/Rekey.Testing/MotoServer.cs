using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;

using Rekey.Providers.AwsKms;

namespace Rekey.Testing;

/// <summary>
/// <c>moto_server</c> (a local implementation of the AWS APIs) on a free loopback port, with test
/// credentials in this process's environment and a symmetric KMS key under an alias. Missing
/// moto_server fails the tests; they never skip.
/// </summary>
public sealed class MotoServer : IDisposable
{
    public const string Alias = "alias/rekey-root";

    public MotoServer()
    {
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "testing");
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "testing");
        Environment.SetEnvironmentVariable("AWS_REGION", "us-east-1");
        Port = FreePort();
        var start = new ProcessStartInfo("moto_server") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-H", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(a);
        }

        try
        {
            Process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("moto_server is not on PATH (pip install 'moto[server]'); the AWS KMS tests need it.", e);
        }

        _ = Process.StandardOutput.ReadToEndAsync();
        _ = Process.StandardError.ReadToEndAsync();
        WaitUntilUp();
        using var kms = Client();
        var key = kms.CreateKeyAsync(new CreateKeyRequest { Description = "rekey test root" }).GetAwaiter().GetResult();
        kms.CreateAliasAsync(new CreateAliasRequest { AliasName = Alias, TargetKeyId = key.KeyMetadata.KeyId }).GetAwaiter().GetResult();
        KeyArn = key.KeyMetadata.Arn;
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    public string KeyArn { get; }

    public Process Process { get; }

    public string Spec => $"awskms:key={Alias};region=us-east-1;endpoint={Url};timeout=2";

    /// <summary>Stops (SIGSTOP) or continues (SIGCONT) the server: a KMS that stops answering, and comes back with its keys.</summary>
    public void Signal(string signal)
    {
        using var kill = System.Diagnostics.Process.Start("kill", ["-" + signal, Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    public AwsKmsRootOptions Options(string? key = null) => new() { KeyId = key ?? Alias, Region = "us-east-1", ServiceUrl = Url, Timeout = TimeSpan.FromSeconds(2) };

    public AmazonKeyManagementServiceClient Client() => new(new AmazonKeyManagementServiceConfig { ServiceURL = Url, AuthenticationRegion = "us-east-1" });

    public void Dispose()
    {
        Process.Kill();
        Process.WaitForExit();
        Process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void WaitUntilUp()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var response = http.GetAsync(Url + "/moto-api/").GetAwaiter().GetResult();
                return;
            }
            catch (HttpRequestException)
            {
                Thread.Sleep(200);
            }
            catch (TaskCanceledException)
            {
                Thread.Sleep(200);
            }
        }

        throw new TimeoutException("moto_server did not answer within 60 s.");
    }
}
