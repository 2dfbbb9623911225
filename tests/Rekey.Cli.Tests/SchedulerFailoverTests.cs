using System.Diagnostics;
using Rekey.Access;
using Rekey.Keys;
using Rekey.Lifecycle;
using Rekey.Root;
using Rekey.Storage;
using Rekey.Storage.Postgres;
using Rekey.Testing;

namespace Rekey.Cli.Tests;

/// <summary>
/// Two <c>rekey server</c> processes on one PostgreSQL, on the real clock, with second-scale
/// periods: every key rotates as often as its policy says, never twice, and SIGKILL of one
/// server loses nothing: the other takes over within the lease time.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SchedulerFailoverTests : IDisposable
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan Lease = new LifecycleOptions().LeaseDuration;
    private readonly RekeyProcess _rekey = new();

    [Fact]
    public async Task TwoServers_RotateEachKeyOnTime_AndOneSurvivesTheOthersSigkill()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        var rootPath = Path.Combine(Path.GetDirectoryName(_rekey.StoreDir)!, "root.key");
        LocalRootKeyProvider.CreateKeyFile(rootPath).Dispose();
        var keys = Enumerable.Range(0, 6).Select(i => KeyName.Parse($"tenants/t{i}/k")).ToList();
        using (var root = LocalRootKeyProvider.OpenKeyFile(rootPath))
        await using (var store = await PostgresKeyStore.OpenAsync(database.ConnectionString, listen: false))
        await using (var service = new RekeyService(store, root))
        {
            foreach (var key in keys)
            {
                await service.CreateKeyAsync(key);
            }

            // Second-scale periods are for tests and the dev server; this process allows them for itself.
            var policies = new LifecyclePolicies(service, store, new LifecycleOptions { MinimumPeriod = TimeSpan.FromSeconds(1) });
            await policies.SetAsync(KeyPattern.Parse("tenants/*"), new LifecyclePolicy { RotateEvery = Period }, new ChangeContext("test"));
        }

        var a = StartServer(database.ConnectionString, rootPath);
        var b = StartServer(database.ConnectionString, rootPath);
        DateTimeOffset killedAt;
        try
        {
            await ServerPorts.WaitHealthyAsync(a.Port);
            await ServerPorts.WaitHealthyAsync(b.Port);
            await Task.Delay(TimeSpan.FromSeconds(12));
            killedAt = DateTimeOffset.UtcNow;
            a.Process.Kill();
            await a.Process.WaitForExitAsync();
            await Task.Delay(Lease + TimeSpan.FromSeconds(12));
        }
        finally
        {
            foreach (var server in new[] { a, b })
            {
                if (!server.Process.HasExited)
                {
                    server.Process.Kill();
                    await server.Process.WaitForExitAsync();
                }

                server.Process.Dispose();
            }
        }

        using var checkRoot = LocalRootKeyProvider.OpenKeyFile(rootPath);
        await using var check = await PostgresKeyStore.OpenAsync(database.ConnectionString, listen: false);
        await using var reader = new RekeyService(check, checkRoot);
        var events = await reader.ReadAuditAsync(0, 100_000);
        foreach (var key in keys)
        {
            var rotations = events.Where(e => e.Record.Action == "key.rotate" && e.Record.Key == key.Value && e.Record.Outcome == "success").Select(e => e.Record).ToList();
            Assert.All(rotations, r => Assert.Equal("policy:tenants/*", r.Actor));
            var versions = await reader.ListVersionsAsync(key);
            Assert.Equal(rotations.Count + 1, versions.Count);

            // Never early (no double rotation); late only by a tick (and a busy machine), or by the lease of a killed server.
            for (var i = 1; i < versions.Count; i++)
            {
                var gap = versions[i].ActivatedAt!.Value - versions[i - 1].ActivatedAt!.Value;
                Assert.True(gap >= Period - TimeSpan.FromMilliseconds(5), $"{key}: versions {i} and {i + 1} only {gap.TotalSeconds:F2} s apart");
                var spansKill = versions[i - 1].ActivatedAt <= killedAt && versions[i].ActivatedAt >= killedAt;
                var limit = Period + TimeSpan.FromSeconds(6) + (spansKill ? Lease : TimeSpan.Zero);
                Assert.True(gap <= limit, $"{key}: versions {i} and {i + 1} {gap.TotalSeconds:F2} s apart (limit {limit.TotalSeconds} s)");
            }

            // After the kill, the survivor kept rotating the key.
            Assert.True(versions[^1].ActivatedAt > killedAt + Lease, $"{key}: no rotation after the lease of the killed server lapsed");
        }

        var report = await reader.VerifyAuditAsync(new Audit.AuditVerifyOptions());
        Assert.True(report.IsValid, report.ToString());
    }

    public void Dispose() => _rekey.Dispose();

    private (Process Process, int Port) StartServer(string store, string rootPath)
    {
        var port = ServerPorts.Free();
        _rekey.Environment["REKEY_LOG_LEVEL"] = "warning";
        var process = _rekey.Start("server", "--store", store, "--root-key-file", rootPath, "--listen", $"http://127.0.0.1:{port}");
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        return (process, port);
    }
}
