using Rekey.Server.Hosting;

namespace Rekey.Server.Tests;

/// <summary>Options validation reports every problem in words and never throws, whatever text it is given.</summary>
public sealed class ServerOptionsTests
{
    [Theory]
    [InlineData("/\u007f\0\0\0y/r")]   // found by fuzzing: a NUL byte made Path.GetFullPath throw
    [InlineData("/")]                 // found by fuzzing: a root folder has no parent folder
    [InlineData("")]
    [InlineData("postgres://")]
    public void Validate_OddStores_ReportsProblems_NeverThrows(string store)
    {
        var problems = new RekeyServerOptions { Store = store, RootKeyFile = "/nonexistent/root.key", AuditWitness = "/\0/w" }.Validate();
        Assert.NotEmpty(problems);
        Assert.Contains(problems, p => p.Contains("audit witness", StringComparison.Ordinal));
    }
}

/// <summary>Where the Transit surface answers comes from the file, the environment or flags, like every setting.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class TransitMountSettingTests
{
    [Fact]
    public void TransitMounts_DefaultToTransit_AndAreReadAsAListOrCommaSeparatedText()
    {
        Assert.Equal(["transit"], ServerConfiguration.Load(null, new Dictionary<string, string?>()).TransitMounts);
        Assert.Equal(["kms", "transit-eu"], ServerConfiguration.Load(null, new Dictionary<string, string?> { ["transit_mounts"] = "kms, transit-eu" }).TransitMounts);

        var directory = Directory.CreateTempSubdirectory("rekey-options-").FullName;
        try
        {
            var file = Path.Combine(directory, "rekey.json");
            File.WriteAllText(file, """{"transit_mounts":["kms","transit"]}""");
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            Assert.Equal(["kms", "transit"], ServerConfiguration.Load(file, new Dictionary<string, string?>()).TransitMounts);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
