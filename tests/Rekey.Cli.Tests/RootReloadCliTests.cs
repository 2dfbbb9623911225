using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Rekey.Cli.Tests;

/// <summary>
/// One command, no downtime: <c>rekey root migrate --to</c> on the folder a running
/// <c>rekey server --dir</c> serves. The server picks up the new root from rekey.json while it
/// keeps serving, keys made during the migration end up under the new root, and after a restart
/// everything still decrypts.
/// </summary>
public sealed class RootReloadCliTests : IDisposable
{
    private readonly RekeyProcess _rekey = new();
    private readonly RekeyProcess _remote = new();

    [Fact]
    public async Task MigratingTheFolderARunningServerServes_NeedsNoRestart_AndLosesNothing()
    {
        _rekey.Run("init").Ok();
        var token = JsonDocument.Parse(_rekey.Run("token", "create", "--name", "ops", "--role", "admin", "--pattern", "*", "--format", "json").Ok().Stdout).RootElement.GetProperty("secret").GetString()!;
        var port = ServerPorts.Free();
        var (server, log) = StartServer(port);
        try
        {
            await ServerPorts.WaitHealthyAsync(port);
            _remote.Environment["REKEY_ADDR"] = $"http://127.0.0.1:{port}";
            _remote.Environment["REKEY_TOKEN"] = token;
            var envelopes = new List<byte[]>();
            for (var i = 0; i < 6; i++)
            {
                _remote.Run("key", "create", $"tenants/t{i}/k").Ok();
                envelopes.Add(_remote.Run(Encoding.UTF8.GetBytes($"record {i}"), "encrypt", "--key", $"tenants/t{i}/k", "--context", $"id={i}").Ok().StdoutBytes);
            }

            var newRoot = Path.Combine(Path.GetDirectoryName(_rekey.StoreDir)!, "next.key");
            Rekey.Root.LocalRootKeyProvider.CreateKeyFile(newRoot).Dispose();

            // Keys are made and rotated through the server while the migration runs beside it.
            using var migrating = _rekey.Start("root", "migrate", "--to", "file:" + newRoot, "--batch-size", "1", "--pause", "50ms");
            var migrateOut = migrating.StandardOutput.ReadToEndAsync();
            var migrateErr = migrating.StandardError.ReadToEndAsync();
            var during = 0;
            while (!migrating.HasExited)
            {
                _remote.Run("key", "create", $"tenants/during{during}/k").Ok();
                _remote.Run("key", "rotate", "tenants/t0/k").Ok();
                during++;
            }

            Assert.True(migrating.ExitCode == 0, await migrateErr);
            Assert.Contains("Released root", await migrateOut, StringComparison.Ordinal);
            Assert.True(during > 0);

            // Served throughout, and afterwards everything is under the new root alone.
            for (var i = 0; i < envelopes.Count; i++)
            {
                Assert.Equal($"record {i}", _remote.Run(envelopes[i], "decrypt", "--context", $"id={i}").Ok().Stdout);
            }

            var only = Assert.Single(JsonDocument.Parse(_rekey.Run("root", "status", "--format", "json").Ok().Stdout).RootElement.EnumerateArray());
            Assert.Equal("primary", only.GetProperty("role").GetString());
            Assert.Equal(6 + during + during, only.GetProperty("key_versions").GetInt64());
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }

        Assert.Contains("Root keys reloaded", await log, StringComparison.Ordinal);

        // A restart reads rekey.json as the migration left it: only the new root.
        var again = ServerPorts.Free();
        var (restarted, _) = StartServer(again);
        try
        {
            await ServerPorts.WaitHealthyAsync(again);
            _remote.Environment["REKEY_ADDR"] = $"http://127.0.0.1:{again}";
            var envelope = _remote.Run("again"u8.ToArray(), "encrypt", "--key", "tenants/t3/k", "--context", "id=9").Ok().StdoutBytes;
            Assert.Equal("again", _remote.Run(envelope, "decrypt", "--context", "id=9").Ok().Stdout);
            _rekey.Run("audit", "verify").Ok();
        }
        finally
        {
            restarted.Kill(entireProcessTree: true);
            await restarted.WaitForExitAsync();
        }
    }

    public void Dispose()
    {
        _rekey.Dispose();
        _remote.Dispose();
    }

    private (Process Process, Task<string> Log) StartServer(int port)
    {
        var process = _rekey.Start("server", "--listen", $"http://127.0.0.1:{port}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        return (process, Task.WhenAll(output, error).ContinueWith(t => string.Concat(t.Result), TaskScheduler.Default));
    }
}
