using System.Text.Json;

namespace Rekey.Cli.Tests;

/// <summary><c>rekey report</c> on a local store: Markdown by default, JSON and HTML on request; markdown and html are for the report only.</summary>
public sealed class ReportCliTests : IDisposable
{
    private const string Key = "tenants/h42/patients";
    private readonly RekeyProcess _rekey = new();

    [Fact]
    public void Report_ShowsTheVersionsHistoryReasonsAndDestructionEvidence_InEachFormat()
    {
        _rekey.Run("init").Ok();
        _rekey.Run("key", "create", Key).Ok();
        _rekey.Run("key", "update", Key, "--destruction-delay", "0s").Ok();
        _rekey.Run("key", "rotate", Key, "--reason", "quarterly").Ok();
        _rekey.Run("key", "disable", Key, "1").Ok();
        _rekey.Run("key", "schedule-destroy", Key, "1").Ok();
        _rekey.Run("key", "destroy", Key, "1", "--reason", "CHG-1234").Ok();

        var markdown = _rekey.Run("report").Ok().Stdout;
        Assert.Contains("## Key `tenants/h42/patients`", markdown, StringComparison.Ordinal);
        Assert.Contains("### Version 1: Destroyed (generated)", markdown, StringComparison.Ordinal);
        Assert.Contains("| version.destroy | local:", markdown, StringComparison.Ordinal);
        Assert.Contains("CHG-1234", markdown, StringComparison.Ordinal);
        Assert.Contains("inventory: no registered data source may hold the key", markdown, StringComparison.Ordinal);
        Assert.Contains("**valid**", markdown, StringComparison.Ordinal);

        using var json = JsonDocument.Parse(_rekey.Run("report", "--key", "tenants/*", "--format", "json").Ok().Stdout);
        Assert.Equal("quarterly", json.RootElement.GetProperty("keys")[0].GetProperty("versions")[1].GetProperty("history")[0].GetProperty("reason").GetString());
        Assert.StartsWith("<!DOCTYPE html>", _rekey.Run("report", "--format", "html").Ok().Stdout, StringComparison.Ordinal);
        Assert.Empty(JsonDocument.Parse(_rekey.Run("report", "--key", "other/*", "--format", "json").Ok().Stdout).RootElement.GetProperty("keys").EnumerateArray());

        Assert.Equal(2, _rekey.Run("key", "list", "--format", "html").ExitCode);
    }

    public void Dispose() => _rekey.Dispose();
}
