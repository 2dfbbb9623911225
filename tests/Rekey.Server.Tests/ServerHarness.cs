using System.Net.Http.Headers;
using System.Text;
using Microsoft.Data.Sqlite;
using Rekey.Access;
using Rekey.Client;
using Rekey.Root;
using Rekey.Server.Hosting;

namespace Rekey.Server.Tests;

/// <summary>A real server on a free loopback port over a fresh SQLite store (or a given PostgreSQL database), with an admin token.</summary>
public sealed class ServerHarness : IAsyncDisposable
{
    private readonly string _directory;

    private ServerHarness(string directory, RekeyServerHost host, string adminToken)
    {
        _directory = directory;
        Host = host;
        AdminToken = adminToken;
        Http = new HttpClient { BaseAddress = host.Address };
    }

    public RekeyServerHost Host { get; }

    public string AdminToken { get; }

    public HttpClient Http { get; }

    public string DatabasePath => Path.Combine(_directory, "rekey.db");

    /// <summary>The folder with the root key file, for a second server over the same store.</summary>
    public string Folder => _directory;

    public static async Task<ServerHarness> StartAsync(Action<RekeyServerOptions>? configure = null, string? store = null, TimeProvider? time = null, string? directory = null)
    {
        var fresh = directory is null;
        directory ??= Directory.CreateTempSubdirectory("rekey-server-").FullName;
        var keyFile = Path.Combine(directory, "root.key");
        if (fresh)
        {
            LocalRootKeyProvider.CreateKeyFile(keyFile).Dispose();
        }

        var options = new RekeyServerOptions { Store = store ?? Path.Combine(directory, "rekey.db"), RootKeyFile = keyFile, Listen = "http://127.0.0.1:0" };
        configure?.Invoke(options);
        var host = await RekeyServerHost.StartAsync(options, time: time);
        var (_, secret) = await host.IssueTokenAsync("test admin", new HashSet<Role> { Role.Admin }, [KeyPattern.All]);
        return new ServerHarness(directory, host, secret);
    }

    /// <summary>A token with several roles, issued directly: its id and secret.</summary>
    public async Task<(string Id, string Secret)> TokenAsync(Role[] roles, params string[] patterns)
    {
        var (token, secret) = await Host.IssueTokenAsync(string.Join('+', roles) + " test", roles.ToHashSet(), patterns.Select(KeyPattern.Parse).ToList());
        return (token.Id, secret);
    }

    /// <summary>A token with the given roles and patterns, issued directly.</summary>
    public async Task<string> TokenAsync(Role role, params string[] patterns)
    {
        var (_, secret) = await Host.IssueTokenAsync(role + " test", new HashSet<Role> { role }, patterns.Select(KeyPattern.Parse).ToList());
        return secret;
    }

    public RekeyClient Client(string? token = null) => new(Host.Address, token ?? AdminToken);

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        return await Http.SendAsync(request);
    }

    /// <summary>Registers <see cref="SourceTable"/> as a data source for keys matching <paramref name="keys"/>, as the admin; returns its name.</summary>
    public async Task<string> RegisterSourceAsync(string name = "app-patients", string keys = "*")
    {
        var body = $$"""{"name":"{{name}}","kind":"sqlite","connection":"{{SourceTable()}}","table":"patients","columns":[{"name":"ssn"}],"keys":["{{keys}}"]}""";
        using var response = await SendAsync(HttpMethod.Post, "/v1/sources", AdminToken, body);
        Xunit.Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return name;
    }

    /// <summary>A SQLite application table (<c>patients</c>: id, ssn) for re-wrap jobs, created on first use; its path.</summary>
    public string SourceTable()
    {
        var path = Path.Combine(_directory, "app.db");
        if (!File.Exists(path))
        {
            using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE patients (id INTEGER PRIMARY KEY, ssn TEXT);";
            command.ExecuteNonQuery();
        }

        return path;
    }

    /// <summary>Puts <paramref name="rows"/> rows into <see cref="SourceTable"/>, each encrypted under <paramref name="key"/> with the context <c>id=N</c>.</summary>
    public async Task SeedSourceRowsAsync(Rekey.Client.RekeyClient client, Rekey.Keys.KeyName key, int rows)
    {
        using var connection = new SqliteConnection($"Data Source={SourceTable()};Pooling=False");
        connection.Open();
        for (var row = 1; row <= rows; row++)
        {
            using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO patients (id, ssn) VALUES ($id, $ssn);";
            insert.Parameters.AddWithValue("$id", row);
            insert.Parameters.AddWithValue("$ssn", Rekey.Envelope.EnvelopeText.Encode(await client.EncryptAsync(key, "x"u8.ToArray(), Rekey.Envelope.EncryptionContext.From("id=" + row))));
            insert.ExecuteNonQuery();
        }
    }

    /// <summary>Runs SQL on the SQLite store directly (tampering, fault injection).</summary>
    public void Sql(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Stops the server but keeps its folder, to restart over the same store.</summary>
    public async Task<string> StopKeepingDataAsync()
    {
        Http.Dispose();
        await Host.DisposeAsync();
        return _directory;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Host.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A store file still closing; the temp folder is cleaned by the OS.
        }
    }
}
