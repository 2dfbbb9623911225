using System.Diagnostics;
using System.Runtime.InteropServices;

using Rekey.Providers.Pkcs11;

namespace Rekey.Testing;

/// <summary>
/// A SoftHSM2 token in a temporary folder for this test run: its own configuration file (named by
/// SOFTHSM2_CONF in this process's native environment, where the module reads it), a token made
/// with <c>softhsm2-util --init-token</c>, and a root key created in it. SoftHSM2 missing fails
/// the tests (scripts/test.sh installs it); they never skip. A test project shares one per run
/// through a collection fixture (SOFTHSM2_CONF is one per process).
/// </summary>
public sealed partial class SoftHsm : IDisposable
{
    public const string Token = "rekey-test";
    public const string Pin = "123456";
    public const string KeyLabel = "rekey-root";

    private readonly string _directory = Directory.CreateTempSubdirectory("rekey-softhsm-").FullName;

    public SoftHsm()
    {
        Library = Environment.GetEnvironmentVariable("REKEY_TEST_SOFTHSM") is { Length: > 0 } path ? path : "/usr/lib/softhsm/libsofthsm2.so";
        if (!File.Exists(Library))
        {
            throw new InvalidOperationException($"SoftHSM2 is not installed ({Library} is missing): run ./scripts/test.sh, which installs it, or apt-get install -y softhsm2.");
        }

        var tokens = Directory.CreateDirectory(Path.Combine(_directory, "tokens")).FullName;
        ConfigPath = Path.Combine(_directory, "softhsm2.conf");
        File.WriteAllText(ConfigPath, $"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n");

        // The module reads SOFTHSM2_CONF with getenv when it is loaded; .NET's own environment
        // is not the native one on Unix, so it is set there too.
        Environment.SetEnvironmentVariable("SOFTHSM2_CONF", ConfigPath);
        if (SetEnv("SOFTHSM2_CONF", ConfigPath, 1) != 0)
        {
            throw new InvalidOperationException("setenv(SOFTHSM2_CONF) failed.");
        }

        Run("softhsm2-util", "--init-token", "--free", "--label", Token, "--pin", Pin, "--so-pin", "654321");
        Pkcs11RootKeyProvider.CreateKey(Options());
    }

    public string Library { get; }

    public string ConfigPath { get; }

    public Pkcs11RootOptions Options(string? keyLabel = null, string? pin = null, string? token = null, string? library = null) =>
        new() { Library = library ?? Library, Token = token ?? Token, KeyLabel = keyLabel ?? KeyLabel, Pin = pin ?? Pin };

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private void Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["SOFTHSM2_CONF"] = ConfigPath;
        using var process = Process.Start(start) ?? throw new InvalidOperationException(program + " did not start.");
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} failed ({process.ExitCode}): {output}");
        }
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
