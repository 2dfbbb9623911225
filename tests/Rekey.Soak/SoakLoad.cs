using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Rekey.Soak;

/// <summary>
/// Clients on loopback, each at a bounded rate, sending encrypt, decrypt and rewrap requests to
/// the servers in turn, and keeping every ciphertext they were given (with its plaintext and
/// context) so the end can check that each still decrypts.
/// </summary>
internal sealed class SoakLoad(IReadOnlyList<Uri> servers, string token, string key, int clients, int ratePerClient)
{
    private readonly ConcurrentDictionary<long, Item> _items = new();
    private readonly ConcurrentQueue<string> _failures = new();
    private long _next;

    /// <summary>Every ciphertext handed out, by id.</summary>
    public IReadOnlyDictionary<long, Item> Items => _items;

    /// <summary>Responses with a 5xx status.</summary>
    public int ServerErrors => _failures.Count(f => f.StartsWith("5", StringComparison.Ordinal));

    /// <summary>Every unexpected answer, as "status path: body".</summary>
    public IReadOnlyCollection<string> Failures => _failures;

    /// <summary>Runs the clients until <paramref name="stop"/>; returns each request's latency in milliseconds.</summary>
    public async Task<List<double>> RunAsync(Func<long, string, Task>? onEncrypted, CancellationToken stop)
    {
        var latencies = new ConcurrentBag<double>();
        var tasks = Enumerable.Range(0, clients).Select(c => Task.Run(() => ClientAsync(c, latencies, onEncrypted, stop))).ToList();
        await Task.WhenAll(tasks);
        return [.. latencies];
    }

    private async Task ClientAsync(int client, ConcurrentBag<double> latencies, Func<long, string, Task>? onEncrypted, CancellationToken stop)
    {
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var interval = TimeSpan.FromSeconds(1.0 / ratePerClient);
        var clock = Stopwatch.StartNew();
        for (long i = 0; !stop.IsCancellationRequested; i++)
        {
            var server = servers[(int)((client + i) % servers.Count)];
            var watch = Stopwatch.StartNew();
            try
            {
                switch (i % 3)
                {
                    case 0:
                        await EncryptAsync(http, server, onEncrypted, stop);
                        break;
                    case 1 when Pick() is { } item:
                        await DecryptAsync(http, server, item, stop);
                        break;
                    case 2 when Pick() is { } item:
                        await RewrapAsync(http, server, item, stop);
                        break;
                }

                latencies.Add(watch.Elapsed.TotalMilliseconds);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }

            // A bounded load: the next request waits for its slot rather than catching up in a burst.
            var due = interval * (i + 1);
            if (due > clock.Elapsed)
            {
                try
                {
                    await Task.Delay(due - clock.Elapsed, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            else
            {
                clock.Restart();
                i = -1;
            }
        }
    }

    private async Task EncryptAsync(HttpClient http, Uri server, Func<long, string, Task>? onEncrypted, CancellationToken stop)
    {
        var id = Interlocked.Increment(ref _next);
        var plaintext = RandomNumberGenerator.GetBytes(48);
        var context = "soak=" + id;
        var body = JsonSerializer.Serialize(new Dictionary<string, string> { ["plaintext"] = Convert.ToBase64String(plaintext), ["context"] = context });
        using var answer = await PostAsync(http, server, "/v1/encrypt/" + key, body, stop);
        if (answer is null)
        {
            return;
        }

        var ciphertext = answer.RootElement.GetProperty("ciphertext").GetString()!;
        _items[id] = new Item(plaintext, context, ciphertext);
        if (onEncrypted is not null && id % 4 == 0)
        {
            await onEncrypted(id, ciphertext);
        }
    }

    private async Task DecryptAsync(HttpClient http, Uri server, (long Id, Item Item) pick, CancellationToken stop)
    {
        var body = JsonSerializer.Serialize(new Dictionary<string, string> { ["ciphertext"] = pick.Item.Ciphertext, ["context"] = pick.Item.Context });
        using var answer = await PostAsync(http, server, "/v1/decrypt/" + key, body, stop);
        if (answer is not null && !Convert.FromBase64String(answer.RootElement.GetProperty("plaintext").GetString()!).AsSpan().SequenceEqual(pick.Item.Plaintext))
        {
            _failures.Enqueue($"decrypt of item {pick.Id} gave other bytes");
        }
    }

    private async Task RewrapAsync(HttpClient http, Uri server, (long Id, Item Item) pick, CancellationToken stop)
    {
        var body = JsonSerializer.Serialize(new Dictionary<string, string> { ["ciphertext"] = pick.Item.Ciphertext });
        using var answer = await PostAsync(http, server, "/v1/rewrap/" + key, body, stop);
        if (answer is not null)
        {
            _items[pick.Id] = pick.Item with { Ciphertext = answer.RootElement.GetProperty("ciphertext").GetString()! };
        }
    }

    /// <summary>Posts and returns the JSON answer, or records the failure and returns null.</summary>
    public async Task<JsonDocument?> PostAsync(HttpClient http, Uri server, string path, string body, CancellationToken stop)
    {
        using var response = await http.PostAsync(new Uri(server, path), new StringContent(body, Encoding.UTF8, "application/json"), stop);
        var text = await response.Content.ReadAsStringAsync(stop);
        if (!response.IsSuccessStatusCode)
        {
            _failures.Enqueue($"{(int)response.StatusCode} {path}: {text}");
            return null;
        }

        return JsonDocument.Parse(text);
    }

    private (long Id, Item Item)? Pick()
    {
        var last = Interlocked.Read(ref _next);
        for (var attempt = 0; attempt < 4 && last > 0; attempt++)
        {
            var id = Random.Shared.NextInt64(1, last + 1);
            if (_items.TryGetValue(id, out var item))
            {
                return (id, item);
            }
        }

        return null;
    }

    /// <summary>A ciphertext handed out, with what it must decrypt to.</summary>
    internal sealed record Item(byte[] Plaintext, string Context, string Ciphertext);
}
