using System.Text.Json;
using System.Text.RegularExpressions;
using Rekey.Access;
using Rekey.Approvals;
using Rekey.Server.Hosting;

namespace Rekey.Cli.Tests;

/// <summary>Dual control from the command line: a held command exits 10 naming its approval, an approver decides through the server, and a held admin token is collected with --approval.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed partial class ApprovalCliTests : IDisposable
{
    private const string Key = "payments/card";
    private readonly RekeyProcess _rekey = new();

    [Fact]
    public async Task AHeldDisable_ExitsTen_ThenAnApproverApprovesIt_AndAHeldAdminTokenIsCollectedByItsRequester()
    {
        _rekey.Run("init").Ok();
        _rekey.Run("key", "create", Key).Ok();
        _rekey.Run("key", "rotate", Key).Ok();
        var options = new RekeyServerOptions
        {
            Store = Path.Combine(_rekey.StoreDir, "rekey.db"),
            RootKeyFile = Path.Combine(_rekey.StoreDir, "root.key"),
            Listen = "http://127.0.0.1:0",
            Approvals = new ApprovalRule(new HashSet<string>(StringComparer.Ordinal) { ApprovalOperations.Disable, ApprovalOperations.AdminToken }, 1, TimeSpan.FromHours(1)),
        };
        await using var host = await RekeyServerHost.StartAsync(options);
        var (_, officer) = await host.IssueTokenAsync("officer", new HashSet<Role> { Role.KeyOfficer }, [KeyPattern.All]);
        var (_, approver) = await host.IssueTokenAsync("approver", new HashSet<Role> { Role.Approver }, [KeyPattern.All]);
        var (_, admin) = await host.IssueTokenAsync("admin", new HashSet<Role> { Role.Admin }, [KeyPattern.All]);
        _rekey.Environment["REKEY_ADDR"] = host.Address.ToString();

        _rekey.Environment["REKEY_TOKEN"] = officer;
        var held = _rekey.Run("key", "disable", Key, "1");
        Assert.Equal(10, held.ExitCode);
        var id = ApprovalId().Match(held.Stderr).Value;
        Assert.StartsWith("apr_", id, StringComparison.Ordinal);
        Assert.Contains(id, _rekey.Run("approval", "list", "--state", "pending").Ok().Stdout, StringComparison.Ordinal);
        Assert.Equal(9, _rekey.Run("approval", "approve", id).ExitCode);

        _rekey.Environment["REKEY_TOKEN"] = approver;
        Assert.Contains("executed", _rekey.Run("approval", "approve", id, "--comment", "checked").Ok().Stdout, StringComparison.Ordinal);
        Assert.Equal(4, _rekey.Run("approval", "approve", id).ExitCode);
        using (var shown = JsonDocument.Parse(_rekey.Run("approval", "show", id, "--format", "json").Ok().Stdout))
        {
            Assert.Equal("executed", shown.RootElement.GetProperty("state").GetString());
            Assert.Equal("checked", shown.RootElement.GetProperty("votes")[0].GetProperty("comment").GetString());
        }

        _rekey.Environment["REKEY_TOKEN"] = officer;
        Assert.Contains("Disabled", _rekey.Run("key", "show", Key).Ok().Stdout, StringComparison.Ordinal);

        _rekey.Environment["REKEY_TOKEN"] = admin;
        var asked = _rekey.Run("token", "create", "--name", "oncall", "--role", "admin", "--pattern", "*", "--ttl", "8h");
        Assert.Equal(10, asked.ExitCode);
        var tokenApproval = ApprovalId().Match(asked.Stderr).Value;
        _rekey.Environment["REKEY_TOKEN"] = approver;
        Assert.Contains("approved", _rekey.Run("approval", "approve", tokenApproval).Ok().Stdout, StringComparison.Ordinal);
        _rekey.Environment["REKEY_TOKEN"] = admin;
        Assert.Equal(4, _rekey.Run("token", "create", "--name", "oncall", "--role", "admin", "--pattern", "*", "--ttl", "9h", "--approval", tokenApproval).ExitCode);
        using var issued = JsonDocument.Parse(_rekey.Run("token", "create", "--name", "oncall", "--role", "admin", "--pattern", "*", "--ttl", "8h", "--approval", tokenApproval, "--format", "json").Ok().Stdout);
        Assert.StartsWith("rkt_", issued.RootElement.GetProperty("secret").GetString(), StringComparison.Ordinal);

        // Locally nobody can sign in as an approver.
        _rekey.Environment.Remove("REKEY_ADDR");
        Assert.Equal(2, _rekey.Run("approval", "approve", id).ExitCode);
    }

    [Fact]
    public async Task ARootRotationUnderDualControl_WaitsForAnApprover_ThenRunsOnceForItsRequester()
    {
        _rekey.Run("init").Ok();
        _rekey.Run("key", "create", Key).Ok();
        var envelope = _rekey.Run("card 4111"u8.ToArray(), "encrypt", "--key", Key, "--context", "id=1").Ok().StdoutBytes;
        _rekey.Run("policy", "set", "*", "--require-approval", "root").Ok();

        var held = _rekey.Run("root", "rotate");
        Assert.Equal(10, held.ExitCode);
        var id = ApprovalId().Match(held.Stderr).Value;
        Assert.Equal(4, _rekey.Run("root", "rotate", "--approval", id).ExitCode);
        var before = Assert.Single(JsonDocument.Parse(_rekey.Run("root", "status", "--format", "json").Ok().Stdout).RootElement.EnumerateArray()).GetProperty("root_key_id").GetString();

        var options = new RekeyServerOptions { Store = Path.Combine(_rekey.StoreDir, "rekey.db"), RootKeyFile = Path.Combine(_rekey.StoreDir, "root.key"), Listen = "http://127.0.0.1:0" };
        await using (var host = await RekeyServerHost.StartAsync(options))
        {
            var (_, approver) = await host.IssueTokenAsync("approver", new HashSet<Role> { Role.Approver }, [KeyPattern.All]);
            var (_, scoped) = await host.IssueTokenAsync("scoped approver", new HashSet<Role> { Role.Approver }, [KeyPattern.Parse("payments/*")]);
            _rekey.Environment["REKEY_ADDR"] = host.Address.ToString();
            _rekey.Environment["REKEY_TOKEN"] = scoped;
            Assert.Equal(3, _rekey.Run("approval", "approve", id).ExitCode);
            _rekey.Environment["REKEY_TOKEN"] = approver;
            Assert.Contains("approved", _rekey.Run("approval", "approve", id).Ok().Stdout, StringComparison.Ordinal);
            _rekey.Environment.Remove("REKEY_ADDR");
            _rekey.Environment.Remove("REKEY_TOKEN");
        }

        _rekey.Run("root", "rotate", "--approval", id).Ok();
        var after = Assert.Single(JsonDocument.Parse(_rekey.Run("root", "status", "--format", "json").Ok().Stdout).RootElement.EnumerateArray()).GetProperty("root_key_id").GetString();
        Assert.NotEqual(before, after);
        Assert.Equal("card 4111", _rekey.Run(envelope, "decrypt", "--context", "id=1").Ok().Stdout);
        Assert.Equal(4, _rekey.Run("root", "rotate", "--approval", id).ExitCode);
        Assert.Contains("root.approved", _rekey.Run("audit", "list").Ok().Stdout, StringComparison.Ordinal);
    }

    public void Dispose() => _rekey.Dispose();

    [GeneratedRegex("apr_[0-9a-f]{24}")]
    private static partial Regex ApprovalId();
}
