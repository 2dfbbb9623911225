using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Rekey.Cli.Tests;

/// <summary>Bring your own key with material made and wrapped by the openssl command-line tool, not by Rekey's code.</summary>
public sealed class ImportCliTests : IDisposable
{
    private const string Key = "tenants/h42/patients";
    private readonly RekeyProcess _rekey = new();
    private readonly string _work = Directory.CreateTempSubdirectory("rekey-import-").FullName;

    [Fact]
    public void MaterialWrappedByOpenssl_IsImportedAsAnImportedVersion_AndUnwrappedOrReusedIsRefused()
    {
        _rekey.Run("init").Ok();
        _rekey.Run("key", "create", Key).Ok();
        var before = _rekey.Run(Encoding.UTF8.GetBytes("before"), "encrypt", "--key", Key, "--context", "id=1").Ok().StdoutBytes;

        var publicKey = Path.Combine(_work, "import.pem");
        using var issued = JsonDocument.Parse(_rekey.Run("key", "import-token", Key, "--public-key-out", publicKey, "--format", "json").Ok().Stdout);
        var token = issued.RootElement.GetProperty("token").GetString()!;
        Assert.Equal("RSA-OAEP-SHA256", issued.RootElement.GetProperty("algorithm").GetString());
        Assert.StartsWith("-----BEGIN PUBLIC KEY-----", File.ReadAllText(publicKey), StringComparison.Ordinal);

        var material = Path.Combine(_work, "kek.bin");
        var wrapped = Path.Combine(_work, "kek.wrapped");
        Openssl("rand", "-out", material, "32");
        Openssl("pkeyutl", "-encrypt", "-pubin", "-inkey", publicKey, "-in", material, "-out", wrapped,
            "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256");

        // Sent as it is, unwrapped: refused, nothing added.
        var raw = _rekey.Run("key", "import", Key, "--token", token, "--wrapped", material);
        Assert.Equal(4, raw.ExitCode);
        Assert.Contains("unwrapped", raw.Stderr, StringComparison.Ordinal);

        using var version = JsonDocument.Parse(_rekey.Run("key", "import", Key, "--token", token, "--wrapped", wrapped, "--reason", "HSM ceremony 42", "--format", "json").Ok().Stdout);
        Assert.Equal((2, "Active", "imported"), (version.RootElement.GetProperty("version").GetInt32(), version.RootElement.GetProperty("state").GetString(), version.RootElement.GetProperty("origin").GetString()));
        Assert.Contains("imported", _rekey.Run("key", "show", Key).Ok().Stdout, StringComparison.Ordinal);

        var after = _rekey.Run(Encoding.UTF8.GetBytes("after"), "encrypt", "--key", Key, "--context", "id=2").Ok().StdoutBytes;
        Assert.StartsWith("rekey:v2:", Encoding.ASCII.GetString(after), StringComparison.Ordinal);
        Assert.Equal("after", _rekey.Run(after, "decrypt", "--context", "id=2").Ok().Stdout);
        Assert.Equal("before", _rekey.Run(before, "decrypt", "--context", "id=1").Ok().Stdout);

        var reused = _rekey.Run("key", "import", Key, "--token", token, "--wrapped", wrapped);
        Assert.Equal(4, reused.ExitCode);
        Assert.Contains("spent already", reused.Stderr, StringComparison.Ordinal);

        var audit = _rekey.Run("audit", "list", "--format", "json").Ok().Stdout;
        Assert.Contains("key.import_token", audit, StringComparison.Ordinal);
        Assert.Contains("HSM ceremony 42", audit, StringComparison.Ordinal);
        _rekey.Run("audit", "verify").Ok();
    }

    public void Dispose()
    {
        _rekey.Dispose();
        Directory.Delete(_work, recursive: true);
    }

    private static void Openssl(params string[] args)
    {
        var start = new ProcessStartInfo("openssl") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("openssl did not start");
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, "openssl " + string.Join(' ', args) + ": " + error);
    }
}
