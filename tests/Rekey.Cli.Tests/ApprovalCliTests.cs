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

    public void Dispose() => _rekey.Dispose();

    [GeneratedRegex("apr_[0-9a-f]{24}")]
    private static partial Regex ApprovalId();
}
