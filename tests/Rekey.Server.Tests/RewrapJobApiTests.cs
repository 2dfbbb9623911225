using System.Net;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Rekey.Envelope;
using Rekey.Keys;

namespace Rekey.Server.Tests;

/// <summary>Re-wrap jobs through the API: the server's background worker runs them.</summary>
public sealed class RewrapJobApiTests
{
    [Fact]
    public async Task StartedJob_IsRunByTheServer_AndItsInventoryIsServed()
    {
        await using var server = await ServerHarness.StartAsync();
        using var client = server.Client();
        var key = KeyName.Parse("tenants/h42/patients");
        await client.CreateKeyAsync(key);
        await server.SeedSourceRowsAsync(client, key, 50);

        await client.RotateAsync(key);
        var source = await server.RegisterSourceAsync(keys: "tenants/h42/*");
        var body = $$$"""{"source":"{{{source}}}","batch_size":10,"verification":"full","context_template":"id={id}","reason":"after rotation"}""";
        using var created = await server.SendAsync(HttpMethod.Post, "/v1/jobs/rewrap/" + key, server.AdminToken, body);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var createdText = await created.Content.ReadAsStringAsync();
        Assert.DoesNotContain("\"connection\"", createdText, StringComparison.Ordinal);
        var id = JsonDocument.Parse(createdText).RootElement.GetProperty("id").GetString();

        JsonElement job = default;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        do
        {
            await Task.Delay(100);
            using var status = await server.SendAsync(HttpMethod.Get, "/v1/jobs/" + id, server.AdminToken);
            job = JsonDocument.Parse(await status.Content.ReadAsStringAsync()).RootElement.Clone();
        }
        while (job.GetProperty("state").GetString() != "Completed" && DateTime.UtcNow < deadline);

        Assert.Equal("Completed", job.GetProperty("state").GetString());
        Assert.Equal(50, job.GetProperty("rewrapped").GetInt64());
        Assert.Contains("50 ok, 0 failed", job.GetProperty("verification").GetString(), StringComparison.Ordinal);

        using var inventory = await server.SendAsync(HttpMethod.Get, "/v1/inventory/" + key, server.AdminToken);
        var counts = JsonDocument.Parse(await inventory.Content.ReadAsStringAsync()).RootElement.GetProperty("counts");
        Assert.Equal(2, counts[0].GetProperty("version").GetInt32());
        Assert.Equal(50, counts[0].GetProperty("count").GetInt64());

        using var list = await server.SendAsync(HttpMethod.Get, "/v1/jobs", server.AdminToken);
        Assert.Contains(id!, await list.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains(await client.ReadAuditAsync(), e => e.Record.Action == "rewrap.finish");
    }

    [Theory]
    [InlineData("""{"source":{"kind":"sqlite","connection":"x","table":"patients","columns":[{"name":"ssn"}]}}""")]
    [InlineData("""{"mode":"shred","source":"app-patients"}""")]
    [InlineData("""{"source":"app-patients","verification":"most"}""")]
    [InlineData("""{}""")]
    public async Task BadJobDefinitions_Are400_AndCreateNothing(string body)
    {
        await using var server = await ServerHarness.StartAsync();
        await server.RegisterSourceAsync();
        using var client = server.Client();
        await client.CreateKeyAsync(KeyName.Parse("app/k"));
        using var response = await server.SendAsync(HttpMethod.Post, "/v1/jobs/rewrap/app/k", server.AdminToken, body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("InvalidRequest", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString());
        using var list = await server.SendAsync(HttpMethod.Get, "/v1/jobs", server.AdminToken);
        Assert.Equal("""{"jobs":[]}""", await list.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("""{"name":"s","kind":"sqlite","connection":"TABLE","table":"p; DROP TABLE p","columns":[{"name":"ssn"}],"keys":["*"]}""")]
    [InlineData("""{"name":"s","kind":"oracle","connection":"TABLE","table":"patients","columns":[{"name":"ssn"}],"keys":["*"]}""")]
    [InlineData("""{"name":"s","kind":"sqlite","connection":"TABLE","table":"patients","columns":[],"keys":["*"]}""")]
    [InlineData("""{"name":"s","kind":"sqlite","connection":"/nonexistent.db","table":"patients","columns":[{"name":"ssn"}],"keys":["*"]}""")]
    [InlineData("""{"name":"s","kind":"sqlite","connection":"TABLE","table":"patients","columns":[{"name":"ssn","format":"1"}],"keys":["*"]}""")]
    [InlineData("""{"name":"s","kind":"sqlite","connection":"TABLE","table":"patients","columns":[{"name":"ssn"}],"keys":[]}""")]
    [InlineData("""{"name":"s","kind":"sqlite","connection":"TABLE","table":"patients","columns":[{"name":"ssn"}],"keys":["tenants/h4*"]}""")]
    [InlineData("""{"name":"Bad Name","kind":"sqlite","connection":"TABLE","table":"patients","columns":[{"name":"ssn"}],"keys":["*"]}""")]
    [InlineData("""{"name":"s","kind":"sqlite","table":"patients","columns":[{"name":"ssn"}],"keys":["*"]}""")]
    public async Task BadSourceRegistrations_Are400_AndRegisterNothing(string body)
    {
        await using var server = await ServerHarness.StartAsync();
        using var response = await server.SendAsync(HttpMethod.Post, "/v1/sources", server.AdminToken, body.Replace("TABLE", server.SourceTable(), StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("InvalidRequest", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString());
        using var list = await server.SendAsync(HttpMethod.Get, "/v1/sources", server.AdminToken);
        Assert.Equal("""{"sources":[]}""", await list.Content.ReadAsStringAsync());
    }
}
