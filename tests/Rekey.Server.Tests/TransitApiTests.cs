using System.Net;
using System.Text;
using System.Text.Json;
using Rekey.Access;
using Rekey.Envelope;
using Rekey.Keys;
using Rekey.Server.Hosting;

namespace Rekey.Server.Tests;

/// <summary>
/// The Vault-compatible Transit surface over real HTTP: ciphertexts that cross between it and
/// <c>/v1</c>, Vault's batch status rules, key creation on encrypt only for tokens that may create
/// keys, trim gated on the inventory, configurable mounts, and clear refusals of what Rekey does not do.
/// </summary>
public sealed class TransitApiTests
{
    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    [Fact]
    public async Task Ciphertexts_DecryptThroughEitherApi_WithAssociatedDataAsTheContext()
    {
        await using var server = await ServerHarness.StartAsync();
        var client = server.Client();
        var key = KeyName.Parse("orders");
        await client.CreateKeyAsync(key);

        // /v1 with context "tenant=h42" -> Transit with associated_data = base64("tenant=h42").
        var native = EnvelopeText.Encode(await client.EncryptAsync(key, "from v1"u8.ToArray(), EncryptionContext.From("tenant=h42")));
        var data = await DataAsync(server, "/v1/transit/decrypt/orders", $$"""{"ciphertext":"{{native}}","associated_data":"{{B64("tenant=h42")}}"}""");
        Assert.Equal("from v1", Encoding.UTF8.GetString(Convert.FromBase64String(data.GetProperty("plaintext").GetString()!)));

        // Transit without associated data -> /v1 with the fixed context "vault:transit", in Vault's spelling.
        var plain = (await DataAsync(server, "/v1/transit/encrypt/orders", $$"""{"plaintext":"{{B64("from transit")}}"}""")).GetProperty("ciphertext").GetString()!;
        Assert.StartsWith("vault:v1:", plain, StringComparison.Ordinal);
        using (var decrypted = await server.SendAsync(HttpMethod.Post, "/v1/decrypt/orders", server.AdminToken, $$"""{"ciphertext":"{{plain}}","context":"vault:transit"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, decrypted.StatusCode);
            Assert.Contains(B64("from transit"), await decrypted.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Transit with associated data -> the library with that text as the context.
        var bound = (await DataAsync(server, "/v1/transit/encrypt/orders", $$"""{"plaintext":"{{B64("bound")}}","associated_data":"{{B64("id=17")}}"}""")).GetProperty("ciphertext").GetString()!;
        var envelope = VaultCiphertext.TryDecode(bound, out _)!;
        Assert.Equal("bound"u8.ToArray(), await client.DecryptAsync(key, envelope, EncryptionContext.From("id=17")));

        // The wrong associated data, a version that disagrees with the bytes, and garbage: 400, Vault's shape.
        await RefusedAsync(server, "/v1/transit/decrypt/orders", $$"""{"ciphertext":"{{bound}}","associated_data":"{{B64("id=18")}}"}""", HttpStatusCode.BadRequest, "could not be decrypted");
        await RefusedAsync(server, "/v1/transit/decrypt/orders", $$"""{"ciphertext":"{{bound.Replace("vault:v1:", "vault:v2:", StringComparison.Ordinal)}}"}""", HttpStatusCode.BadRequest, "says version 2");
        await RefusedAsync(server, "/v1/transit/decrypt/orders", """{"ciphertext":"v1:abc"}""", HttpStatusCode.BadRequest, "no prefix");
        await RefusedAsync(server, "/v1/transit/encrypt/orders", """{"plaintext":"aGk=","associated_data":"//8="}""", HttpStatusCode.BadRequest, "UTF-8");
    }

    [Fact]
    public async Task Batches_FollowVaultsStatusRules()
    {
        await using var server = await ServerHarness.StartAsync(o => o.MaxBatchItems = 3);
        await server.Client().CreateKeyAsync(KeyName.Parse("orders"));
        var good = $$"""{"plaintext":"{{B64("x")}}","reference":"g"}""";
        const string Bad = """{"plaintext":"%%","reference":"b"}""";

        Assert.Equal(HttpStatusCode.OK, await StatusAsync(server, "/v1/transit/encrypt/orders", $$"""{"batch_input":[{{good}},{{good}}]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, await StatusAsync(server, "/v1/transit/encrypt/orders", $$"""{"batch_input":[{{good}},{{Bad}}]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, await StatusAsync(server, "/v1/transit/encrypt/orders", $$"""{"batch_input":[{{Bad}}],"partial_failure_response_code":207}"""));
        Assert.Equal((HttpStatusCode)207, await StatusAsync(server, "/v1/transit/encrypt/orders", $$"""{"batch_input":[{{good}},{{Bad}}],"partial_failure_response_code":207}"""));

        // An out-of-range override is ignored with a warning, as Vault does.
        using (var response = await server.SendAsync(HttpMethod.Post, "/v1/transit/encrypt/orders", server.AdminToken, $$"""{"batch_input":[{{good}},{{Bad}}],"partial_failure_response_code":700}"""))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Contains("reverting to 400", body.RootElement.GetProperty("warnings")[0].GetString(), StringComparison.Ordinal);
            Assert.Equal("b", body.RootElement.GetProperty("data").GetProperty("batch_results")[1].GetProperty("reference").GetString());
        }

        // Request-level mistakes answer the whole batch.
        await RefusedAsync(server, "/v1/transit/encrypt/orders", $$"""{"batch_input":[{{good}},{{good}},{{good}},{{good}}]}""", HttpStatusCode.BadRequest, "at most 3");
        await RefusedAsync(server, "/v1/transit/encrypt/orders", """{"batch_input":[]}""", HttpStatusCode.BadRequest, "missing batch input");
        await RefusedAsync(server, "/v1/transit/encrypt/orders", $$"""{"batch_input":[{"plaintext":"eA==","context":"Yw=="},{{good}}]}""", HttpStatusCode.BadRequest, "either in all the request blocks or in none");
        var gone = KeyName.Parse("gone");
        await server.Client().CreateKeyAsync(gone, new KeyCreateOptions(DeletionAllowed: true));
        var orphan = VaultCiphertext.Encode(await server.Client().EncryptAsync(gone, "x"u8.ToArray(), EncryptionContext.From("vault:transit")));
        await server.Client().DeleteKeyAsync(gone);
        // Decrypting under a key that is gone fails as any ciphertext that does not decrypt: it never tells whether the key exists.
        using (var missingKey = await server.SendAsync(HttpMethod.Post, "/v1/transit/decrypt/gone", server.AdminToken, $$"""{"batch_input":[{"ciphertext":"{{orphan}}"}]}"""))
        {
            Assert.Equal(HttpStatusCode.BadRequest, missingKey.StatusCode);
            var text = await missingKey.Content.ReadAsStringAsync();
            Assert.Contains("could not be decrypted", text, StringComparison.Ordinal);
            Assert.DoesNotContain("not found", text, StringComparison.Ordinal);
        }

        await RefusedAsync(server, "/v1/transit/decrypt/gone", $$"""{"ciphertext":"{{orphan}}"}""", HttpStatusCode.BadRequest, "could not be decrypted");

        // key_version: the latest is accepted, an older one is the item's error, a newer one too.
        await server.Client().RotateAsync(KeyName.Parse("orders"));
        var versions = await DataAsync(server, "/v1/transit/encrypt/orders", $$"""{"batch_input":[{"plaintext":"eA==","key_version":2},{"plaintext":"eA==","key_version":1},{"plaintext":"eA==","key_version":3}],"partial_failure_response_code":200}""");
        var results = versions.GetProperty("batch_results");
        Assert.StartsWith("vault:v2:", results[0].GetProperty("ciphertext").GetString(), StringComparison.Ordinal);
        Assert.Contains("only under the key's latest version", results[1].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("higher than the latest", results[2].GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EncryptingUnderAMissingKey_CreatesIt_OnlyForATokenThatMayCreateKeys()
    {
        await using var server = await ServerHarness.StartAsync();
        var app = await server.TokenAsync(Role.Application, "*");
        var (_, officerApp) = await server.TokenAsync([Role.KeyOfficer, Role.Application], "*");

        using (var refused = await server.SendAsync(HttpMethod.Post, "/v1/transit/encrypt/auto", app, """{"plaintext":"eA=="}"""))
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("may not create keys", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.DoesNotContain(await server.Host.Service.ListKeysAsync(), k => k.Name.Value == "auto");
        using (var derived = await server.SendAsync(HttpMethod.Post, "/v1/transit/encrypt/auto", officerApp, """{"plaintext":"eA==","context":"Yw=="}"""))
        {
            Assert.Equal(HttpStatusCode.BadRequest, derived.StatusCode);
            Assert.Contains("derived keys are not supported", await derived.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var created = await server.SendAsync(HttpMethod.Post, "/v1/transit/encrypt/auto", officerApp, """{"plaintext":"eA=="}"""))
        {
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        }

        var events = await server.Host.Service.ReadAuditAsync();
        Assert.Contains(events, e => e.Record.Action == "key.create" && e.Record.Key == "auto" && e.Record.Actor == officerApp.Split('_')[1]);
    }

    [Fact]
    public async Task Trim_IsRefusedWhileTheInventoryCountsDataUnderAVersion_AndChangesNothing()
    {
        await using var server = await ServerHarness.StartAsync();
        var client = server.Client();
        var key = KeyName.Parse("patients");
        await client.CreateKeyAsync(key);
        await server.RegisterSourceAsync(keys: "patients");
        await server.SeedSourceRowsAsync(client, key, 5);
        await client.RotateAsync(key);
        await DataAsync(server, "/v1/transit/keys/patients/config", """{"min_decryption_version":2}""");

        await RefusedAsync(server, "/v1/transit/keys/patients/trim", """{"min_available_version":2}""", HttpStatusCode.BadRequest, "cannot trim version 1");
        var versions = await server.Host.Service.ListVersionsAsync(key);
        Assert.Equal(KeyVersionState.DecryptOnly, versions.Single(v => v.Version == 1).State);

        // Vault's own rules on the number come first.
        await RefusedAsync(server, "/v1/transit/keys/patients/trim", """{"min_available_version":3}""", HttpStatusCode.BadRequest, "greater than minimum decryption version");
        await RefusedAsync(server, "/v1/transit/keys/patients/trim", """{"min_available_version":0}""", HttpStatusCode.BadRequest, "should be positive");
    }

    [Fact]
    public async Task KeyManagement_MapsToRekeysKeysAndPolicies_AndABadRequestChangesNothing()
    {
        await using var server = await ServerHarness.StartAsync();
        var created = await DataAsync(server, "/v1/transit/keys/ledger", """{"type":"aes256-gcm96","auto_rotate_period":"72h"}""");
        Assert.Equal(259200, created.GetProperty("auto_rotate_period").GetInt64());

        // The period is a rotation policy on exactly this key, visible through /v1.
        using (var effective = await server.SendAsync(HttpMethod.Get, "/v1/policies/effective/ledger", server.AdminToken))
        {
            Assert.Contains("\"rotate_every_seconds\":259200", await effective.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // A request with one bad field changes none of the others.
        await RefusedAsync(server, "/v1/transit/keys/ledger/config", """{"deletion_allowed":true,"auto_rotate_period":"10m"}""", HttpStatusCode.BadRequest, "at least an hour");
        Assert.False((await server.Host.Service.GetKeyAsync(KeyName.Parse("ledger"))).DeletionAllowed);
        await RefusedAsync(server, "/v1/transit/keys/ledger/config", """{"min_decryption_version":5}""", HttpStatusCode.BadRequest, "latest key version is 1");
        await RefusedAsync(server, "/v1/transit/keys/ledger", "{not json", HttpStatusCode.BadRequest, "not valid JSON");

        // Deletion follows the key's deletion_allowed, and takes the key's rotation policy with it.
        await RefusedAsync(server, "/v1/transit/keys/ledger", null, HttpStatusCode.BadRequest, "deletion is not allowed", HttpMethod.Delete);
        await DataAsync(server, "/v1/transit/keys/ledger/config", """{"deletion_allowed":true,"auto_rotate_period":0}""");
        await DataAsync(server, "/v1/transit/keys/ledger/config", """{"auto_rotate_period":"24h"}""");
        using (var deleted = await server.SendAsync(HttpMethod.Delete, "/v1/transit/keys/ledger", server.AdminToken))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        using (var listed = await server.SendAsync(HttpMethod.Get, "/v1/policies", server.AdminToken))
        {
            Assert.DoesNotContain("ledger", await listed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // An empty list is Vault's bare 404; GET without ?list=true is not a list.
        using (var empty = await server.SendAsync(new HttpMethod("LIST"), "/v1/transit/keys", server.AdminToken))
        {
            Assert.Equal(HttpStatusCode.NotFound, empty.StatusCode);
            Assert.Equal("""{"errors":[]}""", await empty.Content.ReadAsStringAsync());
        }

        Assert.Equal(HttpStatusCode.MethodNotAllowed, await StatusAsync(server, "/v1/transit/keys", null, HttpMethod.Get));
    }

    [Fact]
    public async Task WhatRekeyDoesNotDo_IsRefusedClearly_NeverAnsweredWrong()
    {
        await using var server = await ServerHarness.StartAsync();
        await server.Client().CreateKeyAsync(KeyName.Parse("k"));
        await RefusedAsync(server, "/v1/transit/keys/c", """{"derived":true,"convergent_encryption":true}""", HttpStatusCode.BadRequest, "derived keys are not supported");
        await RefusedAsync(server, "/v1/transit/keys/c", """{"exportable":true}""", HttpStatusCode.BadRequest, "exportable keys are not supported");
        await RefusedAsync(server, "/v1/transit/keys/c", """{"type":"ed25519"}""", HttpStatusCode.BadRequest, "key type ed25519 is not supported");
        await RefusedAsync(server, "/v1/transit/keys/c", """{"type":"blowfish"}""", HttpStatusCode.BadRequest, "unknown key type blowfish");
        await RefusedAsync(server, "/v1/transit/encrypt/k", """{"plaintext":"eA==","nonce":"AAAAAAAAAAAAAAAA"}""", HttpStatusCode.BadRequest, "nonce is not supported");
        await RefusedAsync(server, "/v1/transit/datakey/plaintext/k", """{"bits":384}""", HttpStatusCode.BadRequest, "invalid bits");
        await RefusedAsync(server, "/v1/transit/datakey/raw/k", "{}", HttpStatusCode.BadRequest, "'plaintext' or 'wrapped'");
        foreach (var (path, feature) in new[] { ("hmac/k", "HMAC"), ("export/encryption-key/k", "key export"), ("backup/k", "key backup"), ("random/32", "random bytes"), ("keys/k/import", "key import") })
        {
            await RefusedAsync(server, "/v1/transit/" + path, "{}", HttpStatusCode.BadRequest, feature);
        }

        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(server, "/v1/transit/nothing/here", "{}"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, await StatusAsync(server, "/v1/transit/encrypt/k", null, HttpMethod.Get));
        Assert.DoesNotContain(await server.Host.Service.ListKeysAsync(), k => k.Name.Value == "c");
    }

    [Fact]
    public async Task OtherMountNames_AreServed_AndNamesThatClashWithV1AreRefused()
    {
        await using var server = await ServerHarness.StartAsync(o => o.TransitMounts = ["kms", "transit-eu"]);
        await server.Client().CreateKeyAsync(KeyName.Parse("k"));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(server, "/v1/kms/encrypt/k", """{"plaintext":"eA=="}"""));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(server, "/v1/transit-eu/encrypt/k", """{"plaintext":"eA=="}"""));
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(server, "/v1/transit/encrypt/k", """{"plaintext":"eA=="}"""));
        using (var mounts = await server.SendAsync(HttpMethod.Get, "/v1/sys/mounts", server.AdminToken))
        {
            var text = await mounts.Content.ReadAsStringAsync();
            Assert.Contains("\"kms/\"", text, StringComparison.Ordinal);
            Assert.Contains("\"transit-eu/\"", text, StringComparison.Ordinal);
        }

        await RefusedAsync(server, "/v1/sys/mounts/transit", """{"type":"transit"}""", HttpStatusCode.BadRequest, "add 'transit' to transit_mounts");
        await RefusedAsync(server, "/v1/sys/mounts/kms", """{"type":"kv"}""", HttpStatusCode.BadRequest, "only the 'transit' secrets engine");
        Assert.Equal(HttpStatusCode.NoContent, await StatusAsync(server, "/v1/sys/mounts/kms", """{"type":"transit"}"""));

        var problems = new RekeyServerOptions { Store = "x.db", RootKeyFile = "root.key", TransitMounts = ["keys", "Bad Name", "ok"] }.Validate();
        Assert.Contains(problems, p => p.Contains("'keys' is a path of Rekey's own /v1 API", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("'Bad Name' is not a mount name", StringComparison.Ordinal));
        Assert.DoesNotContain(problems, p => p.Contains("'ok'", StringComparison.Ordinal));
    }

    private static async Task<JsonElement> DataAsync(ServerHarness server, string path, string? body, HttpMethod? method = null)
    {
        using var response = await server.SendAsync(method ?? HttpMethod.Post, path, server.AdminToken, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {text}");
        using var document = JsonDocument.Parse(text);
        Assert.Equal(string.Empty, document.RootElement.GetProperty("lease_id").GetString());
        return document.RootElement.GetProperty("data").Clone();
    }

    private static async Task<HttpStatusCode> StatusAsync(ServerHarness server, string path, string? body, HttpMethod? method = null)
    {
        using var response = await server.SendAsync(method ?? HttpMethod.Post, path, server.AdminToken, body);
        return response.StatusCode;
    }

    private static async Task RefusedAsync(ServerHarness server, string path, string? body, HttpStatusCode status, string message, HttpMethod? method = null)
    {
        using var response = await server.SendAsync(method ?? HttpMethod.Post, path, server.AdminToken, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{path}: expected {(int)status}, got {(int)response.StatusCode} {text}");
        using var document = JsonDocument.Parse(text);
        Assert.True(document.RootElement.TryGetProperty("errors", out var errors), $"{path}: no errors in {text}");
        Assert.Contains(message, errors[0].GetString(), StringComparison.Ordinal);
    }
}
