using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Rekey.Access;
using Rekey.Keys;
using Rekey.Root;
using Rekey.Server.Hosting;

namespace Rekey.Benchmarks;

/// <summary>
/// HTTP encrypt throughput on loopback: the server runs in a child process (so its CPU can be
/// measured apart from the load generator's), the load comes from keep-alive connections, each
/// with one request in flight, written as raw HTTP/1.1 so the client costs as little as possible.
/// Prints requests/s, items/s and the server's CPU use, for single items and batches of 100, through
/// <c>/v1</c> and through the Transit surface.
/// </summary>
internal static class HttpBenchmark
{
    private const string Key = "bench/http";
    private const string TransitKey = "bench-transit";
    private const int PlaintextBytes = 256;

    public static async Task<int> RunAsync(bool quick)
    {
        var seconds = quick ? 3 : 10;
        var connections = 64;
        using var server = StartServerProcess(out var address, out var token, metrics: true);
        try
        {
            var plaintext = Convert.ToBase64String(Enumerable.Range(0, PlaintextBytes).Select(i => (byte)i).ToArray());
            var single = Request(address, token, "/v1/encrypt/" + Key, $$"""{"plaintext":"{{plaintext}}","context":"tenant=h42;id=17"}""");
            var batch = Request(address, token, "/v1/encrypt/" + Key, "{\"items\":[" + string.Join(',', Enumerable.Range(0, 100).Select(i => $$"""{"plaintext":"{{plaintext}}","context":"tenant=h42;id={{i}}"}""")) + "]}");

            // The Transit surface, as Vault's clients call it: X-Vault-Token, no context, a reference per batch item.
            var transitSingle = Request(address, token, "/v1/transit/encrypt/" + TransitKey, $$"""{"plaintext":"{{plaintext}}"}""", vault: true);
            var transitBatch = Request(address, token, "/v1/transit/encrypt/" + TransitKey, "{\"batch_input\":[" + string.Join(',', Enumerable.Range(0, 100).Select(i => $$"""{"plaintext":"{{plaintext}}","reference":"{{i}}"}""")) + "]}", vault: true);

            Console.WriteLine($"HTTP encrypt on loopback, {PlaintextBytes}-byte plaintexts, {connections} keep-alive connections for single items and 16 for batches, {seconds} s per run, {Environment.ProcessorCount} cores shared by client and server");
            await LoadAsync(address, single, connections, 2, server.Id); // warm-up: JIT, caches, connection setup
            await LoadAsync(address, transitSingle, connections, 2, server.Id);

            // Single calls through each surface in turn, twice, so the ratio compares like with like.
            var singles = new List<Result>();
            var transits = new List<Result>();
            for (var round = 0; round < 2; round++)
            {
                singles.Add(await LoadAsync(address, single, connections, seconds, server.Id));
                transits.Add(await LoadAsync(address, transitSingle, connections, seconds, server.Id));
            }

            var nativeSingle = singles.MaxBy(r => r.Requests / r.Elapsed.TotalSeconds)!;
            var vaultSingle = transits.MaxBy(r => r.Requests / r.Elapsed.TotalSeconds)!;
            Report("single /v1", nativeSingle, 1, 20_000, 20_000);
            Report("single Transit", vaultSingle, 1, 0, 0);
            var ratio = vaultSingle.Requests / vaultSingle.Elapsed.TotalSeconds / (nativeSingle.Requests / nativeSingle.Elapsed.TotalSeconds);
            Console.WriteLine($"  Transit/native single-call ratio {ratio:F2} (target: at least 0.90): {(ratio >= 0.9 ? "met" : "MISSED")}");

            await LoadAsync(address, batch, 16, 2, server.Id);
            Report("batch /v1", await LoadAsync(address, batch, 16, seconds, server.Id), 100, 0, 300_000);
            await LoadAsync(address, transitBatch, 16, 2, server.Id);
            Report("batch Transit", await LoadAsync(address, transitBatch, 16, seconds, server.Id), 100, 0, 200_000);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }

        await MetricsOverheadAsync(seconds, connections);
        return 0;
    }

    // The same single-request load on a server with metrics on (the default) and one with them
    // off, in turn, twice each; the ratio of the medians is the cost of counting.
    private static async Task MetricsOverheadAsync(int seconds, int connections)
    {
        var plaintext = Convert.ToBase64String(Enumerable.Range(0, PlaintextBytes).Select(i => (byte)i).ToArray());
        var rates = new Dictionary<bool, List<double>> { [true] = [], [false] = [] };
        for (var round = 0; round < 2; round++)
        {
            foreach (var metrics in new[] { false, true })
            {
                using var server = StartServerProcess(out var address, out var token, metrics);
                try
                {
                    var single = Request(address, token, "/v1/encrypt/" + Key, $$"""{"plaintext":"{{plaintext}}","context":"tenant=h42;id=17"}""");
                    await LoadAsync(address, single, connections, 2, server.Id);
                    var result = await LoadAsync(address, single, connections, seconds, server.Id);
                    rates[metrics].Add(result.Requests / result.Elapsed.TotalSeconds);
                }
                finally
                {
                    server.Kill(entireProcessTree: true);
                    await server.WaitForExitAsync();
                }
            }
        }

        double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
        var on = Median(rates[true]);
        var off = Median(rates[false]);
        Console.WriteLine($"  metrics on    {on,10:N0} requests/s   metrics off {off,10:N0} requests/s   overhead {(1 - on / off) * 100:F1}% (target: under 5%)");
    }

    /// <summary>The child process: a server over a fresh SQLite store with one key and an application token.</summary>
    public static async Task<int> ServeAsync(bool metrics = true)
    {
        var directory = Directory.CreateTempSubdirectory("rekey-http-bench-").FullName;
        var keyFile = Path.Combine(directory, "root.key");
        LocalRootKeyProvider.CreateKeyFile(keyFile).Dispose();
        var options = new RekeyServerOptions { Store = Path.Combine(directory, "rekey.db"), RootKeyFile = keyFile, Listen = "http://127.0.0.1:0", Metrics = metrics };
        await using var host = await RekeyServerHost.StartAsync(options);
        await host.Service.CreateKeyAsync(KeyName.Parse(Key));
        await host.Service.CreateKeyAsync(KeyName.Parse(TransitKey));
        var (_, secret) = await host.IssueTokenAsync("bench", new HashSet<Role> { Role.Application }, [KeyPattern.Parse("bench/*"), KeyPattern.Parse(TransitKey)]);
        Console.WriteLine($"{host.Address} {secret}");
        await host.WaitForShutdownAsync();
        return 0;
    }

    private static Process StartServerProcess(out Uri address, out string token, bool metrics)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(typeof(HttpBenchmark).Assembly.Location);
        start.ArgumentList.Add("http-server");
        if (!metrics)
        {
            start.ArgumentList.Add("--no-metrics");
        }
        var process = Process.Start(start)!;
        var line = process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("The benchmark server did not start.");
        var parts = line.Split(' ');
        address = new Uri(parts[0]);
        token = parts[1];
        return process;
    }

    private static byte[] Request(Uri address, string token, string path, string body, bool vault = false)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var auth = vault ? "X-Vault-Token: " + token : "Authorization: Bearer " + token;
        var head = $"POST {path} HTTP/1.1\r\nHost: {address.Authority}\r\n{auth}\r\nContent-Type: application/json\r\nContent-Length: {bytes.Length}\r\n\r\n";
        return [.. Encoding.ASCII.GetBytes(head), .. bytes];
    }

    private static async Task<Result> LoadAsync(Uri address, byte[] request, int connections, int seconds, int serverPid)
    {
        var cpuBefore = ProcessCpu(serverPid);
        var stopwatch = Stopwatch.StartNew();
        var until = TimeSpan.FromSeconds(seconds);
        var workers = Enumerable.Range(0, connections).Select(_ => Task.Run(() => ConnectionAsync(address, request, stopwatch, until))).ToArray();
        var counts = await Task.WhenAll(workers);
        var elapsed = stopwatch.Elapsed;
        var cpu = ProcessCpu(serverPid) - cpuBefore;
        return new Result(counts.Sum(c => c.Requests), counts.Sum(c => c.Failures), elapsed, cpu);
    }

    private static async Task<(long Requests, long Failures)> ConnectionAsync(Uri address, byte[] request, Stopwatch clock, TimeSpan until)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(address.Host), address.Port));
        var buffer = new byte[1 << 20];
        long requests = 0, failures = 0;
        while (clock.Elapsed < until)
        {
            await socket.SendAsync(request);
            var (status, ok) = await ReadResponseAsync(socket, buffer);
            requests++;
            if (!ok || status != 200)
            {
                failures++;
            }
        }

        return (requests, failures);
    }

    // Reads one response: headers up to the blank line, then Content-Length bytes of body.
    private static async Task<(int Status, bool Ok)> ReadResponseAsync(Socket socket, byte[] buffer)
    {
        var filled = 0;
        var headerEnd = -1;
        while (headerEnd < 0)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(filled));
            if (n == 0)
            {
                return (0, false);
            }

            filled += n;
            headerEnd = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8);
        }

        var head = Encoding.ASCII.GetString(buffer, 0, headerEnd);
        var status = int.Parse(head.AsSpan(9, 3), CultureInfo.InvariantCulture);
        var lengthAt = head.IndexOf("Content-Length: ", StringComparison.OrdinalIgnoreCase);
        if (lengthAt < 0)
        {
            return (status, false);
        }

        var lineEnd = head.IndexOf('\r', lengthAt);
        var length = int.Parse(head.AsSpan(lengthAt + 16, (lineEnd < 0 ? head.Length : lineEnd) - lengthAt - 16), CultureInfo.InvariantCulture);
        var total = headerEnd + 4 + length;
        while (filled < total)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(filled));
            if (n == 0)
            {
                return (status, false);
            }

            filled += n;
        }

        return (status, true);
    }

    private static TimeSpan ProcessCpu(int pid)
    {
        // utime and stime, fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 per second on Linux).
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    private static void Report(string label, Result r, int itemsPerRequest, double requestTarget, double itemTarget)
    {
        var perSecond = r.Requests / r.Elapsed.TotalSeconds;
        var items = perSecond * itemsPerRequest;
        var cores = r.ServerCpu.TotalSeconds / r.Elapsed.TotalSeconds;
        var target = requestTarget > 0 ? $"target {requestTarget:N0} requests/s: {(perSecond >= requestTarget ? "met" : "MISSED")}"
            : itemTarget > 0 ? $"target {itemTarget:N0} items/s: {(items >= itemTarget ? "met" : "MISSED")}"
            : string.Empty;
        Console.WriteLine($"  {label,-13} {perSecond,10:N0} requests/s {items,11:N0} items/s   server CPU {cores:F2} cores ({r.ServerCpu.TotalMilliseconds * 1000 / r.Requests:N0} µs per request)   failures {r.Failures}   {target}");
    }

    private sealed record Result(long Requests, long Failures, TimeSpan Elapsed, TimeSpan ServerCpu);
}
