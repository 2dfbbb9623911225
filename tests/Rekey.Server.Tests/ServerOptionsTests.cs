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
