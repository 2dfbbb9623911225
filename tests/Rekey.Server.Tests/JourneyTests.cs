using System.Net;
using Rekey.Audit;
using Rekey.Client;
using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Server.Hosting;
using Rekey.Testing;

namespace Rekey.Server.Tests;

/// <summary>A user's whole journey over real HTTP: dev server, create, encrypt, rotate, decrypt old, rewrap, disable, audit verify.</summary>
public sealed class JourneyTests
{
    private static readonly KeyName Key = KeyName.Parse("tenants/h42/patients");
    private static readonly EncryptionContext Context = EncryptionContext.From("table=patients;id=17");

    [Fact]
    public async Task DevServer_WholeJourney()
    {
        var (host, rootToken, folder) = await DevServer.StartAsync("http://127.0.0.1:0");
        try
        {
            using var client = new RekeyClient(host.Address, rootToken);
            await JourneyAsync(client);
        }
        finally
        {
            await host.DisposeAsync();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Postgres_WholeJourney()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var server = await ServerHarness.StartAsync(store: database.ConnectionString);
        using var client = server.Client();
        await JourneyAsync(client);
    }

    [Fact]
    public async Task Batches_AnswerInOrder_WithPerItemErrors()
    {
        await using var server = await ServerHarness.StartAsync();
        using var client = server.Client();
        await client.CreateKeyAsync(Key);
        var items = Enumerable.Range(0, 100).Select(i => new Api.EncryptItem(Convert.ToBase64String(BitConverter.GetBytes(i)), "id=" + i)).ToList();
        items[50] = new Api.EncryptItem("***", "id=50");
        var encrypted = await client.EncryptBatchAsync(Key, items);
        Assert.Equal(100, encrypted.Results.Count);
        Assert.Equal(1, encrypted.Failed);
        Assert.Equal("InvalidRequest", encrypted.Results[50].Error!.Code);

        var decryptItems = encrypted.Results.Select((r, i) => new Api.DecryptItem(r.Ciphertext ?? "rekey:v1:AAAA", i == 7 ? "id=wrong" : "id=" + i)).ToList();
        var decrypted = await client.DecryptBatchAsync(Key, decryptItems);
        Assert.Equal(2, decrypted.Failed);
        Assert.Equal("DecryptionFailed", decrypted.Results[7].Error!.Code);
        Assert.Equal("DecryptionFailed", decrypted.Results[50].Error!.Code);
        for (var i = 0; i < 100; i++)
        {
            if (i is not (7 or 50))
            {
                Assert.Equal(i, BitConverter.ToInt32(Convert.FromBase64String(decrypted.Results[i].Plaintext!)));
            }
        }
    }

    [Fact]
    public async Task DataKey_PlaintextAndWrapped_OrWrappedOnly()
    {
        await using var server = await ServerHarness.StartAsync();
        using var client = server.Client();
        await client.CreateKeyAsync(Key);
        using var key = await client.GenerateDataKeyAsync(Key, Context);
        Assert.Equal(32, key.DangerousPlaintext.Length);
        Assert.Equal(key.DangerousPlaintext.ToArray(), await client.DecryptAsync(Key, key.Envelope, Context));
        using var wrappedOnly = await client.GenerateDataKeyAsync(Key, Context, includePlaintext: false, length: 16);
        Assert.False(wrappedOnly.HasPlaintext);
        Assert.Throws<InvalidOperationException>(() => wrappedOnly.DangerousPlaintext.Length);
        Assert.Equal(16, (await client.DecryptAsync(Key, wrappedOnly.Envelope, Context)).Length);
    }

    [Fact]
    public async Task KeyList_PagesWithAfter_AndDeleteNeedsPermission()
    {
        await using var server = await ServerHarness.StartAsync();
        using var client = server.Client();
        for (var i = 0; i < 5; i++)
        {
            await client.CreateKeyAsync(KeyName.Parse($"app/k{i}"));
        }

        using var page = await server.SendAsync(HttpMethod.Get, "/v1/keys?prefix=app/&limit=2", server.AdminToken);
        Assert.Contains("\"next_after\":\"app/k1\"", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var next = await server.SendAsync(HttpMethod.Get, "/v1/keys?prefix=app/&limit=2&after=app/k1", server.AdminToken);
        var text = await next.Content.ReadAsStringAsync();
        Assert.Contains("app/k2", text, StringComparison.Ordinal);
        Assert.DoesNotContain("app/k1", text, StringComparison.Ordinal);
        Assert.Equal(5, (await client.ListKeysAsync("app/")).Count);

        var refused = await Assert.ThrowsAsync<RekeyException>(() => client.DeleteKeyAsync(KeyName.Parse("app/k0")));
        Assert.Equal(RekeyErrorCode.PolicyViolation, refused.Code);
        await client.UpdateKeyAsync(KeyName.Parse("app/k0"), new KeyConfigUpdate(DeletionAllowed: true));
        await client.DeleteKeyAsync(KeyName.Parse("app/k0"), new ChangeContext("ignored", "decommissioned"));
        var gone = await Assert.ThrowsAsync<RekeyException>(() => client.GetKeyAsync(KeyName.Parse("app/k0")));
        Assert.Equal(RekeyErrorCode.KeyNotFound, gone.Code);
        Assert.Contains(await client.ReadAuditAsync(), e => e.Record.Action == "key.delete" && e.Record.Reason == "decommissioned");
    }

    private static async Task JourneyAsync(RekeyClient client)
    {
        var created = await client.CreateKeyAsync(Key, change: new ChangeContext("ignored", "onboarding h42"));
        Assert.Equal(1, created.ActiveVersion);

        var plaintext = "MRN 0042: allergic to penicillin"u8.ToArray();
        var v1 = await client.EncryptAsync(Key, plaintext, Context);
        Assert.Equal(1, EnvelopeReader.ReadHeader(v1).Version);

        var rotated = await client.RotateAsync(Key, new RotateOptions(ExpectedActiveVersion: 1), new ChangeContext("ignored", "scheduled"));
        Assert.Equal(2, rotated.Version);
        var conflict = await Assert.ThrowsAsync<RekeyException>(() => client.RotateAsync(Key, new RotateOptions(ExpectedActiveVersion: 1)));
        Assert.Equal(RekeyErrorCode.Conflict, conflict.Code);

        Assert.Equal(plaintext, await client.DecryptAsync(Key, v1, Context));
        var wrongContext = await Assert.ThrowsAsync<RekeyException>(async () => await client.DecryptAsync(Key, v1, EncryptionContext.From("table=patients;id=18")));
        Assert.Equal(RekeyErrorCode.DecryptionFailed, wrongContext.Code);

        var v2 = await client.RewrapAsync(Key, v1);
        Assert.Equal(2, EnvelopeReader.ReadHeader(v2).Version);
        Assert.Equal(plaintext, await client.DecryptAsync(Key, v2, Context));

        var disabled = await client.DisableAsync(Key, 1, new ChangeContext("ignored", "retiring v1"));
        Assert.Equal(KeyVersionState.Disabled, disabled.State);
        var old = await Assert.ThrowsAsync<RekeyException>(async () => await client.DecryptAsync(Key, v1, Context));
        Assert.Equal(RekeyErrorCode.KeyDisabled, old.Code);
        Assert.Equal(plaintext, await client.DecryptAsync(Key, v2, Context));

        var versions = await client.ListVersionsAsync(Key);
        Assert.Equal([KeyVersionState.Disabled, KeyVersionState.Active], versions.Select(v => v.State));

        Assert.NotNull(await client.CheckpointAuditAsync());
        var verdict = await client.VerifyAuditAsync();
        Assert.True(verdict.IsValid, verdict.Problem);
        Assert.True(verdict.CheckpointCount >= 1);

        var events = await client.ReadAuditAsync();
        var actions = events.Select(e => e.Record.Action).ToList();
        Assert.Contains("key.create", actions);
        Assert.Contains("key.rotate", actions);
        Assert.Contains("version.disable", actions);
        var rotation = events.First(e => e.Record.Action == "key.rotate" && e.Record.Outcome == "success");
        Assert.Equal(1, rotation.Record.FromVersion);
        Assert.Equal(2, rotation.Record.ToVersion);
        Assert.Equal("scheduled", rotation.Record.Reason);
        Assert.False(string.IsNullOrEmpty(rotation.Record.RequestId));
        Assert.Equal("127.0.0.1", rotation.Record.Client);
        Assert.NotEqual("ignored", rotation.Record.Actor);
    }
}
