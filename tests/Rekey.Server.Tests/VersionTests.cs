using System.Text.Json;

namespace Rekey.Server.Tests;

/// <summary>What is running: the version in /healthz and /v1/sys/version, with no token needed.</summary>
public sealed class VersionTests
{
    [Fact]
    public async Task HealthAndSysVersion_NameTheBuildsVersion()
    {
        await using var server = await ServerHarness.StartAsync();
        var expected = typeof(Hosting.RekeyServerHost).Assembly.GetName().Version!;
        var health = JsonDocument.Parse(await server.Http.GetStringAsync("/healthz")).RootElement;
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.StartsWith($"{expected.Major}.{expected.Minor}.{expected.Build}", health.GetProperty("version").GetString(), StringComparison.Ordinal);

        var version = JsonDocument.Parse(await server.Http.GetStringAsync("/v1/sys/version")).RootElement;
        Assert.Equal(health.GetProperty("version").GetString(), version.GetProperty("version").GetString());
        Assert.StartsWith(".NET 10", version.GetProperty("runtime").GetString(), StringComparison.Ordinal);
    }
}
