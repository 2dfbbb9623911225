using Microsoft.AspNetCore.Routing;
using Rekey.Server.Access;

namespace Rekey.Server.Tests;

public sealed class RouteTableTests
{
    [Fact]
    public async Task EveryMappedEndpoint_IsInThePolicyTable_AndEveryRuleIsMapped()
    {
        await using var server = await ServerHarness.StartAsync();
        var endpoints = server.Host.Endpoints.ToList();
        Assert.NotEmpty(endpoints);

        var missing = endpoints
            .Where(e => e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName is not { } name || !EndpointPolicy.Rules.ContainsKey(name))
            .Select(e => $"{string.Join(',', e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? [])} {e.RoutePattern.RawText}")
            .ToList();
        Assert.True(missing.Count == 0, "Endpoints missing from the policy table: " + string.Join("; ", missing));

        var mapped = endpoints.Select(e => e.Metadata.GetMetadata<IEndpointNameMetadata>()!.EndpointName).ToHashSet(StringComparer.Ordinal);
        var unmapped = EndpointPolicy.Rules.Keys.Where(k => !mapped.Contains(k)).ToList();
        Assert.True(unmapped.Count == 0, "Policy rules with no endpoint: " + string.Join(", ", unmapped));

        // One name per endpoint: a duplicate would let two routes share one rule by accident.
        Assert.Equal(endpoints.Count, mapped.Count);
    }

    [Fact]
    public async Task OpenApiDocument_DescribesEveryApiEndpoint()
    {
        await using var server = await ServerHarness.StartAsync();
        using var response = await server.Http.GetAsync("/openapi/v1.json");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        using var document = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var operations = document.RootElement.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(o => o.Value.GetProperty("operationId").GetString()))
            .ToHashSet(StringComparer.Ordinal);
        // /metrics is Prometheus text for a scraper, described in operations.md, not part of the JSON API;
        // the Vault-compatible surface is Vault's API, described in docs/vault-compat.md.
        var expected = EndpointPolicy.Rules.Keys.Where(k => k != EndpointNames.OpenApi && k != EndpointNames.Metrics
            && !k.StartsWith("transit.", StringComparison.Ordinal) && !k.StartsWith("vault.", StringComparison.Ordinal));
        Assert.All(expected, name => Assert.Contains(name, operations));

        // Request bodies are described with the wire names.
        var rotate = document.RootElement.GetProperty("paths").GetProperty("/v1/rotate/{name}").GetProperty("post");
        var schema = rotate.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetRawText();
        Assert.Contains("expected_version", schema, StringComparison.Ordinal);
    }
}
