using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Rekey.Keys;

namespace Rekey.Server.Tests;

/// <summary>Whatever the log level, request targets with their query strings never reach a log.</summary>
public sealed class LoggingTests
{
    [Fact]
    public async Task AtTraceLevel_NoLogLineCarriesAQueryString()
    {
        var sink = new CapturingProvider();
        var directory = Directory.CreateTempSubdirectory("rekey-log-").FullName;
        var keyFile = Path.Combine(directory, "root.key");
        Root.LocalRootKeyProvider.CreateKeyFile(keyFile).Dispose();
        var options = new Hosting.RekeyServerOptions { Store = Path.Combine(directory, "rekey.db"), RootKeyFile = keyFile, Listen = "http://127.0.0.1:0", LogLevel = LogLevel.Trace };
        await using (var host = await Hosting.RekeyServerHost.StartAsync(options, l => l.AddProvider(sink)))
        {
            var (_, token) = await host.IssueTokenAsync("t", new HashSet<Rekey.Access.Role> { Rekey.Access.Role.Admin }, [Rekey.Access.KeyPattern.All]);
            using var http = new HttpClient { BaseAddress = host.Address };
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            using (await http.GetAsync("/v1/audit/events?after=0&limit=5&probe=QUERYSECRET1")) { }
            using (await http.GetAsync("/v1/keys/tenants/h42/p?probe=QUERYSECRET2")) { }
            using (await http.GetAsync("/nowhere?probe=QUERYSECRET3")) { }
            using (await new HttpClient { BaseAddress = host.Address }.GetAsync("/v1/keys?probe=QUERYSECRET4")) { }
        }

        Directory.Delete(directory, recursive: true);
        Assert.NotEmpty(sink.Lines);
        Assert.DoesNotContain(sink.Lines, l => l.Contains("QUERYSECRET", StringComparison.Ordinal));
        Assert.DoesNotContain(sink.Lines, l => l.Contains("probe=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EachRequest_IsOneLine_WithRouteTemplateStatusTokenAndRequestId()
    {
        var sink = new CapturingProvider();
        var directory = Directory.CreateTempSubdirectory("rekey-log-").FullName;
        var keyFile = Path.Combine(directory, "root.key");
        Root.LocalRootKeyProvider.CreateKeyFile(keyFile).Dispose();
        var options = new Hosting.RekeyServerOptions { Store = Path.Combine(directory, "rekey.db"), RootKeyFile = keyFile, Listen = "http://127.0.0.1:0" };
        string tokenId;
        await using (var host = await Hosting.RekeyServerHost.StartAsync(options, l => l.AddProvider(sink)))
        {
            var (token, secret) = await host.IssueTokenAsync("t", new HashSet<Rekey.Access.Role> { Rekey.Access.Role.Admin }, [Rekey.Access.KeyPattern.All]);
            tokenId = token.Id;
            using var http = new HttpClient { BaseAddress = host.Address };
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", secret);
            using (await http.PostAsync("/v1/keys/tenants/h42/secret-name?x=1", new StringContent("{}"))) { }
            using (await new HttpClient { BaseAddress = host.Address }.GetAsync("/v1/keys")) { }
        }

        Directory.Delete(directory, recursive: true);
        var requests = sink.Lines.Where(l => l.StartsWith("Rekey.Server.Http.RequestLog Information", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, requests.Count);
        Assert.Contains("POST /v1/keys/{**name} 201", requests[0], StringComparison.Ordinal);
        Assert.Contains("token " + tokenId, requests[0], StringComparison.Ordinal);
        Assert.Contains("GET /v1/keys 401", requests[1], StringComparison.Ordinal);
        Assert.Contains("token -", requests[1], StringComparison.Ordinal);
        Assert.DoesNotContain(sink.Lines, l => l.Contains("secret-name", StringComparison.Ordinal));
        Assert.Contains(sink.Lines, l => l.Contains("listening on", StringComparison.Ordinal));
        Assert.Contains(sink.Lines, l => l.Contains("stopping", StringComparison.Ordinal));
    }

    private sealed class CapturingProvider : ILoggerProvider
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Capturing(categoryName, Lines);

        public void Dispose()
        {
        }

        private sealed class Capturing(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull
            {
                lines.Enqueue(category + " scope: " + state);
                return null;
            }

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lines.Enqueue($"{category} {logLevel}: {formatter(state, exception)} {exception}");
                if (state is IEnumerable<KeyValuePair<string, object?>> values)
                {
                    foreach (var (k, v) in values)
                    {
                        lines.Enqueue($"{category} {k}={v}");
                    }
                }
            }
        }
    }
}
