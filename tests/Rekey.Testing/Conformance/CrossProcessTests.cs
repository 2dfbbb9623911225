using System.Diagnostics;
using Rekey.Keys;

namespace Rekey.Testing.Conformance;

/// <summary>
/// Rotations from separate OS processes on one store, and a process killed with SIGKILL inside a
/// rotation's transaction. Store test projects derive from this (they also reference the worker).
/// </summary>
public abstract class CrossProcessTests : KeyStoreConformanceTests
{
    private static readonly string Worker = Path.Combine(AppContext.BaseDirectory, "Rekey.TestWorker.dll");

    /// <summary>What the worker is given to open the same store: a connection string or a file path.</summary>
    protected abstract string StoreArgument { get; }

    [Fact]
    [Trait("Category", "Race")]
    public async Task Rotate_FromTwoProcesses_AllSucceed_VersionsContiguous()
    {
        await Service.CreateKeyAsync(Key);
        var workers = Enumerable.Range(0, 2).Select(_ => Start("rotate", Key.Value, "20")).ToList();
        foreach (var worker in workers)
        {
            await FinishAsync(worker, "done");
        }

        var versions = await Store.GetVersionsAsync(Key);
        Assert.Equal(Enumerable.Range(1, 41), versions.Select(v => v.Info.Version));
        Assert.Equal(41, Assert.Single(versions, v => v.Info.State == KeyVersionState.Active).Info.Version);
        Assert.True((await Service.VerifyAuditAsync()).IsValid);
    }

    [Fact]
    [Trait("Category", "Race")]
    public async Task Rotate_FromFourProcessesWithSameExpected_ExactlyOneWins()
    {
        await Service.CreateKeyAsync(Key);
        var go = Path.Combine(Path.GetTempPath(), "rekey-go-" + Guid.NewGuid().ToString("N"));
        var workers = Enumerable.Range(0, 4).Select(_ => Start("rotate-expected", Key.Value, "1", go)).ToList();
        foreach (var worker in workers)
        {
            Assert.Equal("ready", await worker.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)));
        }

        await File.WriteAllTextAsync(go, "go");
        var outcomes = new List<string?>();
        foreach (var worker in workers)
        {
            outcomes.Add(await worker.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)));
            await FinishAsync(worker, null);
        }

        File.Delete(go);
        Assert.Equal(1, outcomes.Count(o => o == "won"));
        Assert.Equal(3, outcomes.Count(o => o == "conflict"));
        Assert.Equal(2, (await Service.GetKeyAsync(Key)).LatestVersion);
    }

    [Fact]
    [Trait("Category", "Race")]
    public async Task Rotate_ProcessKilledInsideTransaction_LeavesOneActiveAndAConsistentChain()
    {
        await Service.CreateKeyAsync(Key);
        var marker = Path.Combine(Path.GetTempPath(), "rekey-inside-" + Guid.NewGuid().ToString("N"));
        using var worker = Start("rotate-and-hang", Key.Value, marker);
        var watch = Stopwatch.StartNew();
        while (!File.Exists(marker))
        {
            if (worker.HasExited)
            {
                Assert.Fail("the worker died before reaching the hook: " + await worker.StandardError.ReadToEndAsync());
            }

            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), "the worker never reached the hook");
            await Task.Delay(10);
        }

        worker.Kill(); // SIGKILL: no finally blocks, no rollback by the process itself.
        await worker.WaitForExitAsync();
        File.Delete(marker);

        var versions = await Store.GetVersionsAsync(Key);
        var only = Assert.Single(versions);
        Assert.Equal(KeyVersionState.Active, only.Info.State);
        var audit = await Service.VerifyAuditAsync();
        Assert.True(audit.IsValid, audit.Problem);
        Assert.Equal(1, audit.EventCount);

        // The store is usable at once: no lock was left behind.
        Assert.Equal(2, (await Service.RotateAsync(Key)).Version);
    }

    private Process Start(string command, params string[] rest)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { Worker, command, StoreArgument, RootArgument }.Concat(rest))
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start)!;
    }

    private static async Task FinishAsync(Process worker, string? expectedLastLine)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var output = await worker.StandardOutput.ReadToEndAsync(timeout.Token);
        var errors = await worker.StandardError.ReadToEndAsync(timeout.Token);
        await worker.WaitForExitAsync(timeout.Token);
        Assert.True(worker.ExitCode == 0, $"worker exited {worker.ExitCode}: {errors}");
        if (expectedLastLine is not null)
        {
            Assert.Equal(expectedLastLine, output.Trim().Split('\n')[^1]);
        }

        worker.Dispose();
    }
}
