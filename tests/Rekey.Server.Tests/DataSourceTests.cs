using System.Net;
using System.Text;
using System.Text.Json;
using Rekey.Access;
using Rekey.Keys;

namespace Rekey.Server.Tests;

/// <summary>
/// Re-wrap jobs run only over registered data sources: a tenant-scoped caller cannot point the
/// server at its own store, a file or a host; connection strings are stored wrapped and never
/// returned; errors do not tell what answered.
/// </summary>
public sealed class DataSourceTests
{
    private const string Columns = """
        "table":"patients","columns":[{"name":"ssn"}],"keys":["*"]
        """;

    [Fact]
    public async Task ScopedOperator_CannotCarryAConnection_NorRegisterASource()
    {
        await using var server = await ServerHarness.StartAsync();
        using var client = server.Client();
        await client.CreateKeyAsync(KeyName.Parse("tenants/h42/p"));
        var operatorToken = await server.TokenAsync(Role.Operator, "tenants/h42/*");

        // The attack that worked before: a job over the server's own rekey.db, table tokens.
        var own = $$$"""{"source":{"kind":"sqlite","connection":"{{{server.DatabasePath}}}","table":"tokens","id_type":"text","columns":[{"name":"name"}]}}""";
        using var job = await server.SendAsync(HttpMethod.Post, "/v1/jobs/rewrap/tenants/h42/p", operatorToken, own);
        Assert.Equal(HttpStatusCode.BadRequest, job.StatusCode);

        using var register = await server.SendAsync(HttpMethod.Post, "/v1/sources", operatorToken, $$"""{"name":"mine","kind":"sqlite","connection":"{{server.SourceTable()}}",{{Columns}}}""");
        Assert.Equal(HttpStatusCode.Forbidden, register.StatusCode);

        using var jobs = await server.SendAsync(HttpMethod.Get, "/v1/jobs", server.AdminToken);
        Assert.Equal("""{"jobs":[]}""", await jobs.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task RekeyStore_IsNeverASource_EvenACopyOfIt()
    {
        await using var server = await ServerHarness.StartAsync();
        var copy = Path.Combine(Path.GetDirectoryName(server.SourceTable())!, "innocent.db");
        File.Copy(server.DatabasePath, copy);
        if (File.Exists(server.DatabasePath + "-wal"))
        {
            File.Copy(server.DatabasePath + "-wal", copy + "-wal");
        }

        foreach (var path in new[] { server.DatabasePath, copy })
        {
            using var response = await server.SendAsync(HttpMethod.Post, "/v1/sources", server.AdminToken, $$"""{"name":"own","kind":"sqlite","connection":"{{path}}","table":"tokens","id_type":"text","columns":[{"name":"name"}],"keys":["*"]}""");
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(text.Contains("can never be a Rekey store", StringComparison.Ordinal), path + ": " + text);
        }
    }

    [Fact]
    public async Task PostgresRekeyStore_IsNeverASource()
    {
        await using var database = await Testing.PostgresDatabase.CreateAsync();
        await using var server = await ServerHarness.StartAsync(store: database.ConnectionString);
        var connection = JsonEncodedText.Encode(database.ConnectionString);
        using var response = await server.SendAsync(HttpMethod.Post, "/v1/sources", server.AdminToken, $$"""{"name":"own","kind":"postgres","connection":"{{connection}}","table":"rekey.tokens","id_type":"text","columns":[{"name":"name"}],"keys":["*"]}""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("can never be a Rekey store", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnreachableSources_AllGetTheSameGenericError()
    {
        await using var server = await ServerHarness.StartAsync();
        var notADatabase = Path.Combine(Path.GetDirectoryName(server.SourceTable())!, "notes.txt");
        await File.WriteAllTextAsync(notADatabase, "this is not a database, and this file is long enough to have a header");
        var answers = new List<string>();
        foreach (var (kind, connection) in new[] { ("sqlite", "/nonexistent/x.db"), ("sqlite", notADatabase), ("postgres", "Host=127.0.0.1;Port=1;Database=x;Username=u;Password=secret-pw;Timeout=2") })
        {
            using var response = await server.SendAsync(HttpMethod.Post, "/v1/sources", server.AdminToken, $$"""{"name":"probe","kind":"{{kind}}","connection":"{{connection}}",{{Columns}}}""");
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var detail = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString()!;
            Assert.DoesNotContain(connection, detail, StringComparison.Ordinal);
            Assert.DoesNotContain("secret-pw", detail, StringComparison.Ordinal);
            answers.Add(detail);
        }

        Assert.Single(answers.Distinct());
        Assert.Contains("cannot be reached or read", answers[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connection_IsStoredWrapped_AndNeverReturned()
    {
        await using var server = await ServerHarness.StartAsync();
        var name = await server.RegisterSourceAsync(keys: "tenants/h42/*");
        using var read = await server.SendAsync(HttpMethod.Get, "/v1/sources/" + name, server.AdminToken);
        var text = await read.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.DoesNotContain(server.SourceTable(), text, StringComparison.Ordinal);
        Assert.Contains("\"keys\":[\"tenants/h42/*\"]", text, StringComparison.Ordinal);

        await server.Host.DisposeAsync();
        var bytes = await File.ReadAllBytesAsync(server.DatabasePath);
        var wal = server.DatabasePath + "-wal";
        if (File.Exists(wal))
        {
            bytes = [.. bytes, .. await File.ReadAllBytesAsync(wal)];
        }

        Assert.Equal(-1, bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(server.SourceTable())));
    }

    [Fact]
    public async Task Jobs_OnlyForTheSourcesKeys_AndOnlyVisibleSourcesAreListed()
    {
        await using var server = await ServerHarness.StartAsync();
        using var client = server.Client();
        await client.CreateKeyAsync(KeyName.Parse("tenants/h42/p"));
        await client.CreateKeyAsync(KeyName.Parse("tenants/h99/p"));
        var name = await server.RegisterSourceAsync(keys: "tenants/h42/*");

        using var other = await server.SendAsync(HttpMethod.Post, "/v1/jobs/rewrap/tenants/h99/p", server.AdminToken, $$"""{"source":"{{name}}"}""");
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        using var missing = await server.SendAsync(HttpMethod.Post, "/v1/jobs/rewrap/tenants/h42/p", server.AdminToken, """{"source":"nope"}""");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var ok = await server.SendAsync(HttpMethod.Post, "/v1/jobs/rewrap/tenants/h42/p", server.AdminToken, $$"""{"source":"{{name}}"}""");
        Assert.Equal(HttpStatusCode.Created, ok.StatusCode);

        var h99 = await server.TokenAsync(Role.Operator, "tenants/h99/*");
        using var list = await server.SendAsync(HttpMethod.Get, "/v1/sources", h99);
        Assert.Equal("""{"sources":[]}""", await list.Content.ReadAsStringAsync());
        using var read = await server.SendAsync(HttpMethod.Get, "/v1/sources/" + name, h99);
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);

        using (await server.SendAsync(HttpMethod.Delete, "/v1/sources/" + name, server.AdminToken))
        {
        }

        var actions = (await client.ReadAuditAsync()).Select(e => e.Record.Action).ToList();
        Assert.Contains("source.register", actions);
        Assert.Contains("source.remove", actions);
        Assert.All(await client.ReadAuditAsync(), e => Assert.DoesNotContain(server.SourceTable(), e.Record.Details ?? string.Empty, StringComparison.Ordinal));
    }
}
