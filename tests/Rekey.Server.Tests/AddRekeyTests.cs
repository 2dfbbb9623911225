using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Rekey.Client;
using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Hosting;
using Rekey.Keys;
using Rekey.Root;

namespace Rekey.Server.Tests;

/// <summary><c>AddRekey</c> in a real generic host: in-process from a store and root key, or remote against a real server.</summary>
public sealed class AddRekeyTests : IDisposable
{
    private static readonly KeyName Key = KeyName.Parse("app/records");
    private static readonly EncryptionContext Context = EncryptionContext.From("table=records;id=9");
    private readonly string _dir = Directory.CreateTempSubdirectory("rekey-addrekey-").FullName;

    [Fact]
    public async Task InProcess_FromConfiguration_EncryptsAndKeepsKeysAcrossRestarts()
    {
        var keyFile = Path.Combine(_dir, "root.key");
        LocalRootKeyProvider.CreateKeyFile(keyFile).Dispose();
        var settings = new Dictionary<string, string?>
        {
            ["Rekey:Store"] = Path.Combine(_dir, "rekey.db"),
            ["Rekey:RootKeyFile"] = keyFile,
            ["Rekey:Actor"] = "billing-app",
        };

        byte[] ciphertext;
        using (var host = Build(settings))
        {
            await host.StartAsync();
            var service = host.Services.GetRequiredService<IKeyService>();
            Assert.IsType<RekeyService>(service);
            await service.CreateKeyAsync(Key);
            ciphertext = await service.EncryptAsync(Key, "card 4111"u8.ToArray(), Context);
            var created = (await service.ReadAuditAsync()).Single(e => e.Record.Action == "key.create");
            Assert.Equal("billing-app", created.Record.Actor);
            await host.StopAsync();
        }

        using (var again = Build(settings))
        {
            await again.StartAsync();
            var service = again.Services.GetRequiredService<IKeyService>();
            Assert.Equal("card 4111"u8.ToArray(), await service.DecryptAsync(Key, ciphertext, Context));
            await again.StopAsync();
        }
    }

    [Fact]
    public async Task Remote_FromConfiguration_UsesTheServer()
    {
        await using var server = await ServerHarness.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Rekey:Server:Address"] = server.Host.Address.ToString(),
            ["Rekey:Server:Token"] = server.AdminToken,
            ["Rekey:Server:Timeout"] = "00:00:05",
            ["Rekey:Server:MaxRetries"] = "1",
        };
        using var host = Build(settings);
        await host.StartAsync();
        var service = host.Services.GetRequiredService<IKeyService>();
        Assert.IsType<RekeyClient>(service);

        await service.CreateKeyAsync(Key);
        var ciphertext = await service.EncryptAsync(Key, "from the app"u8.ToArray(), Context);
        Assert.Equal("from the app"u8.ToArray(), await server.Host.Service.DecryptAsync(Key, ciphertext, Context));
        await host.StopAsync();
    }

    [Theory]
    [InlineData("both", "not both")]
    [InlineData("neither", "set Server:Address and Server:Token")]
    [InlineData("no-token", "Token is not set")]
    [InlineData("two-roots", "exactly one root key")]
    public async Task Misconfiguration_StopsTheHostAtStart_NamingTheFix(string shape, string expected)
    {
        var settings = shape switch
        {
            "both" => new Dictionary<string, string?> { ["Rekey:Server:Address"] = "http://127.0.0.1:1", ["Rekey:Server:Token"] = "t", ["Rekey:Store"] = Path.Combine(_dir, "x.db") },
            "neither" => new Dictionary<string, string?> { ["Rekey:Actor"] = "app" },
            "no-token" => new Dictionary<string, string?> { ["Rekey:Server:Address"] = "http://127.0.0.1:1" },
            _ => new Dictionary<string, string?> { ["Rekey:Store"] = Path.Combine(_dir, "x.db"), ["Rekey:RootKeyFile"] = "a", ["Rekey:RootParamsFile"] = "b", ["Rekey:RootPassphraseEnv"] = "P" },
        };
        using var host = Build(settings);
        var error = await Assert.ThrowsAsync<RekeyException>(() => host.StartAsync());
        Assert.Equal(RekeyErrorCode.InvalidRequest, error.Code);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, "x.db")));
    }

    [Fact]
    public async Task MissingRootKey_StopsTheHostAtStart()
    {
        var settings = new Dictionary<string, string?> { ["Rekey:Store"] = Path.Combine(_dir, "y.db"), ["Rekey:RootKeyFile"] = Path.Combine(_dir, "absent.key") };
        using var host = Build(settings);
        var error = await Assert.ThrowsAsync<RekeyException>(() => host.StartAsync());
        Assert.Equal(RekeyErrorCode.RootKeyUnavailable, error.Code);
        Assert.False(File.Exists(Path.Combine(_dir, "y.db")));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddRekey(builder.Configuration.GetSection("Rekey"));
        return builder.Build();
    }
}
