using System.Diagnostics;
using System.Text;

namespace Rekey.Cli.Tests;

/// <summary>Runs the built <c>rekey</c> as a child process against a temporary store, as a user would.</summary>
public sealed class RekeyProcess : IDisposable
{
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "rekey.dll");

    public RekeyProcess() => StoreDir = Path.Combine(Directory.CreateTempSubdirectory("rekey-cli-").FullName, "store");

    public string StoreDir { get; }

    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    public Result Run(params string[] args) => Run(null, args);

    /// <summary>Starts rekey without waiting for it, output redirected (for tests that signal it).</summary>
    public Process Start(params string[] args)
    {
        var start = Info(args);
        var process = Process.Start(start)!;
        process.StandardInput.Close();
        return process;
    }

    public Result Run(byte[]? stdin, params string[] args)
    {
        using var process = Process.Start(Info(args))!;
        var stdout = new MemoryStream();
        var copyOut = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            process.StandardInput.BaseStream.Write(stdin);
        }

        process.StandardInput.Close();
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("rekey did not finish within 60 s: " + string.Join(' ', args));
        }

        copyOut.Wait();
        return new Result(process.ExitCode, stdout.ToArray(), stderr.Result);
    }

    private ProcessStartInfo Info(string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Dll);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["REKEY_DIR"] = StoreDir;
        foreach (var (k, v) in Environment)
        {
            start.Environment[k] = v;
        }

        return start;
    }

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(StoreDir)!, recursive: true);

    public sealed record Result(int ExitCode, byte[] StdoutBytes, string Stderr)
    {
        public string Stdout => Encoding.UTF8.GetString(StdoutBytes);

        public Result Ok()
        {
            Assert.True(ExitCode == 0, $"exit {ExitCode}: {Stderr}");
            return this;
        }
    }

    /// <summary>The key version an encrypted file's header names now, read by <c>rekey file inspect</c>.</summary>
    public int FileVersion(string file)
    {
        using var info = System.Text.Json.JsonDocument.Parse(Run("file", "inspect", file, "--format", "json").Ok().Stdout);
        return info.RootElement.GetProperty("version").GetInt32();
    }
}
