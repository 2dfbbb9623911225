using System.Net;
using System.Net.Sockets;

namespace Rekey.Cli.Tests;

/// <summary>Mistakes a newcomer makes get a message that names the fix, never .NET's own text or a stack trace.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ActionableErrorTests : IDisposable
{
    private readonly RekeyProcess _rekey = new();

    [Fact]
    public void MissingStore_HasItsOwnCode_AndSaysHowToCreateOne()
    {
        var result = _rekey.Run("key", "list");
        Assert.Equal(3, result.ExitCode);
        Assert.Contains("[StoreNotFound]", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("rekey init --dir", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryListedMistake_NamesTheFix()
    {
        _rekey.Run("init").Ok();
        _rekey.Run("key", "create", "app/k").Ok();
        var dir = Path.GetDirectoryName(_rekey.StoreDir)!;

        Expect(_rekey.Run("x"u8.ToArray(), "encrypt", "--key", "app/k", "--context", ""), 2, "for example 'tenant=h42;id=17'");
        Expect(_rekey.Run("key", "rotate", "app/k", "--expected-version", "abc"), 2, "--expected-version takes a whole number, not 'abc'");
        Expect(_rekey.Run("init", "--dir", Path.Combine(dir, "pg"), "--store", "Host=db;Bogus=1"), 2, "setting 'bogus' that is unknown");
        Expect(_rekey.Run("init", "--dir", "/proc/no-such-folder/store"), 7, "pick a --dir (or REKEY_DIR) in a folder you can write to");

        _rekey.Environment["SHORT_PASSPHRASE"] = "short";
        Expect(_rekey.Run("init", "--dir", Path.Combine(dir, "p"), "--passphrase-env", "SHORT_PASSPHRASE"), 2, "needs at least 12. Choose a longer one");
        Assert.False(Directory.Exists(Path.Combine(dir, "p")));

        _rekey.Run("key", "rotate", "app/k").Ok();
        _rekey.Run("key", "disable", "app/k", "1").Ok();
        _rekey.Run("key", "schedule-destroy", "app/k", "1").Ok();
        var early = _rekey.Run("key", "destroy", "app/k", "1");
        Expect(early, 4, "1d after it was scheduled");
        Assert.DoesNotContain("1.00:00:00", early.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void PortInUse_IsOneSentence_WithTheFix()
    {
        _rekey.Run("init").Ok();
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var result = _rekey.Run("server", "--listen", $"127.0.0.1:{port}");
        Expect(result, 2, "is already in use by another process");
        Assert.Contains("--listen", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("AddressInUseException", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    public void Dispose() => _rekey.Dispose();

    private static void Expect(RekeyProcess.Result result, int exitCode, string fix)
    {
        Assert.True(result.ExitCode == exitCode, $"exit {result.ExitCode}: {result.Stderr}");
        Assert.Contains(fix, result.Stderr, StringComparison.Ordinal);
        foreach (var leak in new[] { "(Parameter '", "System.", "   at ", "Exception" })
        {
            Assert.DoesNotContain(leak, result.Stderr, StringComparison.Ordinal);
        }
    }
}
