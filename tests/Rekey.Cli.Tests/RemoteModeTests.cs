using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Rekey.Server.Hosting;

namespace Rekey.Cli.Tests;

/// <summary>The CLI against a server (REKEY_ADDR, REKEY_TOKEN): the README's dev-server quickstart, same output as local mode, exit codes.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class RemoteModeTests : IDisposable
{
    private const string Key = "tenants/h42/patients";
    private const string Context = "tenant=h42;id=17";
    private readonly RekeyProcess _rekey = new();

    [Fact]
    public async Task QuickstartScript_StartsTheDevServer_AndEveryStepWorks()
    {
        // The script as the README's user runs it, with the CLI these tests built.
        var wrapper = Path.Combine(Path.GetDirectoryName(_rekey.StoreDir)!, "rekey");
        File.WriteAllText(wrapper, $"#!/usr/bin/env bash\nexec dotnet '{Path.Combine(AppContext.BaseDirectory, "rekey.dll")}' \"$@\"\n");
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(Testing.RepositoryPaths.Root, "scripts", "quickstart.sh"));
        start.Environment["REKEY_BIN"] = wrapper;
        start.Environment.Remove("REKEY_ADDR");
        start.Environment.Remove("REKEY_TOKEN");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout;
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}\n{output}\n{await stderr}");
        Assert.Contains("WARNING: development mode, not for production", output, StringComparison.Ordinal);
        Assert.Contains("\"plaintext\":\"SmFuZSBEb2U=\"", output, StringComparison.Ordinal);
        Assert.Contains("rekey:v3:", output, StringComparison.Ordinal);
        Assert.Contains("Audit log OK", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SameCommands_SameOutput_AsLocalMode()
    {
        _rekey.Run("init").Ok();
        _rekey.Run("key", "create", Key).Ok();
        var local = Shape(_rekey.Run("key", "show", Key, "--format", "json").Ok().Stdout);

        var (host, token, folder) = await DevServer.StartAsync("http://127.0.0.1:0");
        try
        {
            _rekey.Environment["REKEY_ADDR"] = host.Address.ToString();
            _rekey.Environment["REKEY_TOKEN"] = token;
            _rekey.Run("key", "create", Key).Ok();
            Assert.Equal(local, Shape(_rekey.Run("key", "show", Key, "--format", "json").Ok().Stdout));

            var plaintext = Encoding.UTF8.GetBytes("Jane Doe");
            var v1 = _rekey.Run(plaintext, "encrypt", "--key", Key, "--context", Context).Ok().Stdout.Trim();
            Assert.StartsWith("rekey:v1:", v1, StringComparison.Ordinal);
            var binary = _rekey.Run(plaintext, "encrypt", "--key", Key, "--context", Context, "--binary").Ok().StdoutBytes;
            _rekey.Run("key", "rotate", Key, "--reason", "remote").Ok();
            Assert.Equal(plaintext, _rekey.Run(Encoding.ASCII.GetBytes(v1), "decrypt", "--context", Context).Ok().StdoutBytes);
            Assert.Equal(plaintext, _rekey.Run(binary, "decrypt", "--context", Context).Ok().StdoutBytes);
            Assert.StartsWith("rekey:v2:", _rekey.Run(Encoding.ASCII.GetBytes(v1), "rewrap").Ok().Stdout, StringComparison.Ordinal);
            Assert.Contains(Key, _rekey.Run("key", "list").Ok().Stdout, StringComparison.Ordinal);
            Assert.Contains("key.rotate", _rekey.Run("audit", "list").Ok().Stdout, StringComparison.Ordinal);
            _rekey.Run("audit", "checkpoint").Ok();
            // The dev server also signs on its own every 10 s, so a slow run may see more than ours.
            var verified = System.Text.RegularExpressions.Regex.Match(_rekey.Run("audit", "verify").Ok().Stdout, @"(\d+) signed checkpoints? verified");
            Assert.True(verified.Success && int.Parse(verified.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 1, verified.Value);
            Assert.Contains("BEGIN PUBLIC KEY", _rekey.Run("audit", "public-key").Ok().Stdout, StringComparison.Ordinal);

            Assert.Equal(3, _rekey.Run("key", "show", "tenants/h42/none").ExitCode);
            Assert.Equal(5, _rekey.Run("key", "create", Key).ExitCode);
            Assert.Equal(4, _rekey.Run("key", "destroy", Key, "1").ExitCode);
            Assert.Equal(6, _rekey.Run(Encoding.ASCII.GetBytes(v1), "decrypt", "--context", "other").ExitCode);

            var issued = JsonDocument.Parse(_rekey.Run("token", "create", "--name", "app", "--role", "application", "--pattern", "tenants/h43/*", "--format", "json").Ok().Stdout);
            var appToken = issued.RootElement.GetProperty("secret").GetString()!;
            Assert.Contains("application", _rekey.Run("token", "list").Ok().Stdout, StringComparison.Ordinal);
            _rekey.Environment["REKEY_TOKEN"] = appToken;
            var denied = _rekey.Run(plaintext, "encrypt", "--key", Key, "--context", Context);
            Assert.Equal(9, denied.ExitCode);
            Assert.Contains("Forbidden", denied.Stderr, StringComparison.Ordinal);
            _rekey.Environment["REKEY_TOKEN"] = "rkt_0000000000000000_" + new string('A', 43);
            Assert.Equal(9, _rekey.Run("key", "list").ExitCode);

            _rekey.Environment["REKEY_ADDR"] = "http://127.0.0.1:1";
            var unreachable = _rekey.Run("key", "list");
            Assert.Equal(7, unreachable.ExitCode);
            Assert.Contains("cannot be reached", unreachable.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await host.DisposeAsync();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Server_WithBadOptions_ExitsWithUsage_AndSaysWhy()
    {
        var result = _rekey.Run("server", "--store", Path.Combine(_rekey.StoreDir, "x.db"), "--listen", "ftp://nowhere");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("root key", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("'ftp://nowhere' is not a listen address", result.Stderr, StringComparison.Ordinal);
    }

    public void Dispose() => _rekey.Dispose();

    // What the output says, minus the times, which differ between two keys.
    private static string Shape(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var versions = string.Join(',', root.GetProperty("versions").EnumerateArray().Select(v => $"{v.GetProperty("version")}:{v.GetProperty("state")}"));
        var names = string.Join(',', root.EnumerateObject().Select(p => p.Name));
        return $"{names}|{root.GetProperty("active_version")}|{root.GetProperty("destruction_delay")}|{versions}";
    }
}
