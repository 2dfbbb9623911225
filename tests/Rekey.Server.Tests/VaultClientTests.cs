using System.Diagnostics;
using Rekey.Access;
using Rekey.Testing;

namespace Rekey.Server.Tests;

/// <summary>
/// The clients Vault applications already use, run as those applications run them against a
/// Rekey server on loopback: the npm package node-vault and Debian's python3-hvac, each through a
/// full journey (keys, data, batches with a bad item, rotation, re-wrap, configuration, a decrypt
/// below the minimum version, data keys, trim, delete). Only the address and the token differ from
/// a Vault deployment, and the token is an ordinary Rekey token. scripts/test.sh installs both clients.
/// </summary>
public sealed class VaultClientTests
{
    private static readonly string Clients = Path.Combine(RepositoryPaths.Root, "tests", "vault-clients");

    [Fact]
    public async Task NodeVault_CompletesTheJourney()
    {
        var journey = Path.Combine(Clients, "node");
        Assert.True(
            Directory.Exists(Path.Combine(journey, "node_modules", "node-vault")),
            $"node-vault is not installed in {journey}: run scripts/test.sh, or 'npm ci' there.");
        await RunJourneyAsync("node", [Path.Combine(journey, "journey.mjs")], "node-vault journey passed: 17 steps");
    }

    [Fact]
    public async Task Hvac_CompletesTheJourney()
    {
        // Debian's python3-hvac lives in the system interpreter's dist-packages.
        const string Python = "/usr/bin/python3";
        Assert.True(File.Exists("/usr/lib/python3/dist-packages/hvac/__init__.py"), "python3-hvac is not installed: run scripts/test.sh, or 'apt-get install python3-hvac'.");
        await RunJourneyAsync(Python, [Path.Combine(Clients, "python", "journey.py")], "hvac journey passed: 12 steps");
    }

    private static async Task RunJourneyAsync(string program, string[] arguments, string passed)
    {
        await using var server = await ServerHarness.StartAsync();

        // A key officer who is also the application: not an admin token.
        var (_, token) = await server.Host.IssueTokenAsync("vault-app", new HashSet<Role> { Role.KeyOfficer, Role.Application }, [KeyPattern.All]);
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["VAULT_ADDR"] = server.Host.Address.ToString().TrimEnd('/');
        start.Environment["VAULT_TOKEN"] = token;
        start.Environment.Remove("VAULT_NAMESPACE");
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        var text = await output + await errors;
        Assert.True(process.ExitCode == 0, $"{program} exited with {process.ExitCode}:\n{text}");
        Assert.Contains(passed, text, StringComparison.Ordinal);
        Assert.DoesNotContain("FAIL", text, StringComparison.Ordinal);

        // Everything the journey changed is in the audit log, under the token's id, and the chain holds.
        var events = await server.Host.Service.ReadAuditAsync(0, 10_000);
        var id = token.Split('_')[1];
        Assert.Contains(events, e => e.Record.Action == "key.rotate" && e.Record.Actor == id);
        Assert.Contains(events, e => e.Record.Action == "key.delete" && e.Record.Actor == id);
        Assert.True((await server.Host.Service.VerifyAuditAsync()).IsValid);
    }
}
