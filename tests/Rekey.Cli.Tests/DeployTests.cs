using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Rekey.Cli.Tests;

/// <summary>What deploy/ ships: the systemd unit verifies, and the example configuration loads with --check-config.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DeployTests : IDisposable
{
    private readonly RekeyProcess _rekey = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("rekey-deploy-").FullName;

    [Fact]
    public void SystemdUnit_PassesSystemdAnalyzeVerify()
    {
        // systemd-analyze checks that ExecStart names an executable: point it at a stand-in.
        var binary = Path.Combine(_dir, "rekey");
        File.WriteAllText(binary, "#!/bin/sh\nexit 0\n");
        File.SetUnixFileMode(binary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var unit = Path.Combine(_dir, "rekey.service");
        File.WriteAllText(unit, File.ReadAllText(Path.Combine(Testing.RepositoryPaths.Root, "deploy", "rekey.service")).Replace("/usr/local/bin/rekey", binary, StringComparison.Ordinal));

        var start = new ProcessStartInfo("systemd-analyze") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("verify");
        start.ArgumentList.Add(unit);
        using var verify = Process.Start(start)!;
        var output = verify.StandardOutput.ReadToEnd() + verify.StandardError.ReadToEnd();
        verify.WaitForExit();
        Assert.True(verify.ExitCode == 0 && output.Length == 0, output);
    }

    [Fact]
    public void ExampleConfig_LoadsWithCheckConfig()
    {
        var state = Path.Combine(_dir, "lib");
        _rekey.Run("init", "--dir", state).Ok();
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Testing.RepositoryPaths.Root, "deploy", "rekey.json")))!.AsObject();
        config["root_key_file"] = Path.Combine(state, "root.key");
        config["audit_witness"] = Path.Combine(_dir, "witness.jsonl");
        var file = Path.Combine(_dir, "rekey.json");
        File.WriteAllText(file, config.ToJsonString());
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var ok = _rekey.Run("server", "--check-config", "--config", file).Ok().Stdout;
        Assert.Contains("Configuration OK: PostgreSQL", ok, StringComparison.Ordinal);

        config["log_format"] = "xml";
        File.WriteAllText(file, config.ToJsonString());
        var bad = _rekey.Run("server", "--check-config", "--config", file);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("log_format must be plain or json", bad.Stderr, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        _rekey.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
