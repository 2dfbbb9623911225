using System.Net.Sockets;

namespace Rekey.Cli.Tests;

/// <summary>The dev server, as a process: its temporary folder (root key included) goes when it stops, unless --dev-dir.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DevServerTests : IDisposable
{
    private readonly RekeyProcess _rekey = new();

    [Fact]
    public async Task DevServer_RemovesItsTemporaryFolder_WhenStopped()
    {
        var (folder, output) = await RunAndStopAsync();
        Assert.Contains("deleted, root key included, when the server stops", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(folder), folder + " is still there");
    }

    [Fact]
    public async Task DevServer_KeepsADevDir()
    {
        var dir = Path.Combine(Path.GetDirectoryName(_rekey.StoreDir)!, "kept");
        var (folder, output) = await RunAndStopAsync("--dev-dir", dir);
        Assert.Equal(Path.GetFullPath(dir), Path.GetFullPath(folder));
        Assert.Contains("kept when the server stops", output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(dir, "rekey.db")));
    }

    public void Dispose() => _rekey.Dispose();

    private async Task<(string Folder, string Output)> RunAndStopAsync(params string[] extra)
    {
        using var probe = new TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        var port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();

        using var server = _rekey.Start(["server", "--dev", "--listen", $"http://127.0.0.1:{port}", .. extra]);
        var stderr = server.StandardError.ReadToEndAsync();
        string? folder = null;
        var output = new System.Text.StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            while (await server.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                output.AppendLine(line);
                if (line.StartsWith("Data folder: ", StringComparison.Ordinal))
                {
                    folder = line["Data folder: ".Length..line.LastIndexOf(" (", StringComparison.Ordinal)];
                }

                if (line.Contains("Press Ctrl+C to stop.", StringComparison.Ordinal))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            server.Kill();
            Assert.Fail("the dev server printed no banner within 30 s: " + output);
        }

        Assert.True(folder is not null, output.ToString());
        Assert.True(Directory.Exists(folder));
        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        Assert.True(server.WaitForExit(30_000), "the dev server did not stop");
        Assert.True(server.ExitCode == 0, await stderr);
        return (folder, output.ToString());
    }
}
