using Microsoft.Data.Sqlite;
using Rekey.Envelope;

namespace Rekey.Rewrap.Tests;

/// <summary>The SQLite source reads and binds text as UTF-8 bytes through the C API: databases that do not store UTF-8.</summary>
public sealed class SqliteSourceTests : IAsyncLifetime
{
    private RewrapHarness _h = null!;

    public async Task InitializeAsync() => _h = await RewrapHarness.CreateAsync(SourceKind.Sqlite);

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Theory]
    [InlineData("UTF-16le", "WAL")]
    [InlineData("UTF-16be", "DELETE")]
    [InlineData("UTF-8", "DELETE")]
    public async Task TextColumns_InAnyDatabaseEncodingAndJournal_MoveAndStayText(string encoding, string journal)
    {
        var path = Path.Combine(Path.GetDirectoryName(_h.SourceConnection)!, $"app-{encoding}-{journal}.db");
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var create = connection.CreateCommand();
            create.CommandText = $"PRAGMA encoding = '{encoding}'; PRAGMA journal_mode = {journal}; CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);";
            await create.ExecuteNonQueryAsync();
            for (var id = 1; id <= 30; id++)
            {
                await using var insert = connection.CreateCommand();
                insert.CommandText = "INSERT INTO notes (id, body) VALUES ($id, $body);";
                insert.Parameters.AddWithValue("$id", id);
                insert.Parameters.AddWithValue("$body", EnvelopeText.Encode(await _h.Service.EncryptAsync(RewrapHarness.Key, RewrapHarness.PlaintextOf(id, "note"), RewrapHarness.ContextOf(id))));
                await insert.ExecuteNonQueryAsync();
            }
        }

        await _h.Service.RotateAsync(RewrapHarness.Key);
        var source = new SourceDefinition(SourceKind.Sqlite, path, "notes", "id", IdKind.Integer, [new CiphertextColumn("body")]);
        var job = await _h.Jobs.StartAsync(_h.Definition(batchSize: 7, source: source), new ChangeContext("ops"));
        var done = await _h.Jobs.RunAsync(job.Id, "test");
        Assert.Equal(RewrapJobState.Completed, done.State);
        Assert.Equal(30, done.Rewrapped);
        Assert.Equal(0, done.Failed + done.Skipped);

        await using var check = new SqliteConnection($"Data Source={path};Pooling=False");
        await check.OpenAsync();
        await using var read = check.CreateCommand();
        read.CommandText = "SELECT id, body, typeof(body) FROM notes ORDER BY id;";
        await using var reader = await read.ExecuteReaderAsync();
        var rows = 0;
        while (await reader.ReadAsync())
        {
            rows++;
            var id = reader.GetInt64(0);
            Assert.Equal("text", reader.GetString(2));
            var envelope = EnvelopeText.Decode(reader.GetString(1));
            Assert.Equal(2, EnvelopeReader.ReadHeader(envelope).Version);
            Assert.Equal(RewrapHarness.PlaintextOf(id, "note"), await _h.Service.DecryptAsync(RewrapHarness.Key, envelope, RewrapHarness.ContextOf(id)));
        }

        Assert.Equal(30, rows);
    }
}
