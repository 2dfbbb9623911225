using System.Diagnostics;
using System.Text;
using Rekey.Testing;

namespace Rekey.Cli.Tests;

/// <summary>The <c>rekey</c> command with a store rooted in the SoftHSM2 token, run as a process as a user runs it.</summary>
[Collection(nameof(SoftHsm))]
public sealed class Pkcs11CliTests(SoftHsm hsm) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("rekey-pkcs11-cli-").FullName;

    private string Root => $"pkcs11:library={hsm.Library};token={SoftHsm.Token};key={SoftHsm.KeyLabel};pin-env=REKEY_CLI_PIN";

    [Fact]
    public void InitRootedInTheToken_ThenEncryptDecryptAndATokenForTheServer_AndAWrongPinIsRefused()
    {
        var store = Path.Combine(_directory, "store");
        var init = Run(null, "init", "--dir", store, "--root", Root);
        Assert.True(init.Code == 0, init.Error);
        Assert.Contains("root key in the PKCS#11 token", init.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(SoftHsm.Pin, File.ReadAllText(Path.Combine(store, "rekey.json")), StringComparison.Ordinal);

        Assert.Equal(0, Run(null, "--dir", store, "key", "create", "tenants/h1/k").Code);
        var envelope = Run("a record"u8.ToArray(), "--dir", store, "encrypt", "--key", "tenants/h1/k", "--context", "id=1");
        Assert.Equal(0, envelope.Code);
        var plain = Run(Encoding.ASCII.GetBytes(envelope.Output.Trim()), "--dir", store, "decrypt", "--context", "id=1");
        Assert.Equal("a record", plain.Output);
        Assert.Equal(0, Run(null, "--dir", store, "token", "create", "--name", "admin", "--role", "admin", "--pattern", "*").Code);

        var wrongPin = RunWithPin(null, "0000", "--dir", store, "key", "list");
        Assert.Equal(7, wrongPin.Code);
        Assert.Contains("refused the PIN", wrongPin.Error, StringComparison.Ordinal);

        var exists = Run(null, "root", "create-key", "--root", Root);
        Assert.Equal(5, exists.Code);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private (int Code, string Output, string Error) Run(byte[]? stdin, params string[] args) => RunWithPin(stdin, SoftHsm.Pin, args);

    private (int Code, string Output, string Error) RunWithPin(byte[]? stdin, string pin, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "rekey.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["SOFTHSM2_CONF"] = hsm.ConfigPath;
        start.Environment["REKEY_CLI_PIN"] = pin;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            process.StandardInput.BaseStream.Write(stdin);
        }

        process.StandardInput.Close();
        Assert.True(process.WaitForExit(60_000), "rekey did not finish: " + string.Join(' ', args));
        return (process.ExitCode, output.Result, error.Result);
    }
}
