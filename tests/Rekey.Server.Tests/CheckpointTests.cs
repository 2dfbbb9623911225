using Rekey.Keys;

namespace Rekey.Server.Tests;

/// <summary>The server signs the chain head every N events; verification over HTTP then catches a truncated tail or an edit.</summary>
public sealed class CheckpointTests
{
    [Fact]
    public async Task EveryNEvents_TheServerSigns_AndATruncatedTailIsReported()
    {
        var server = await ServerHarness.StartAsync(o => o.CheckpointEveryEvents = 3);
        using (var client = server.Client())
        {
            var key = KeyName.Parse("app/k");
            await client.CreateKeyAsync(key);
            for (var i = 0; i < 4; i++)
            {
                await client.RotateAsync(key);
            }

            var deadline = DateTime.UtcNow.AddSeconds(20);
            while ((await client.GetCheckpointsAsync()).Count == 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }

            var checkpoints = await client.GetCheckpointsAsync();
            Assert.NotEmpty(checkpoints);
            Assert.True(checkpoints[^1].Sequence >= 3);
            Assert.Equal(64, checkpoints[^1].Signature.Length);
            Assert.True((await client.VerifyAuditAsync()).IsValid);
        }

        // Remove the last events while the server is down, as an attacker with database access would.
        var directory = await server.StopKeepingDataAsync();
        var last = (await ReadCheckpointSequenceAsync(directory))!.Value;
        Sql(directory, $"DROP TRIGGER audit_events_no_delete; DELETE FROM audit_events WHERE seq >= {last - 1};");

        await using var restarted = await ServerHarness.StartAsync(directory: directory);
        using var after = restarted.Client();
        var verdict = await after.VerifyAuditAsync();
        Assert.False(verdict.IsValid);
        Assert.Contains("checkpoint", verdict.Problem, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task EditedOrReorderedEvent_IsReportedOverHttp()
    {
        await using var server = await ServerHarness.StartAsync();
        using var client = server.Client();
        var key = KeyName.Parse("app/k");
        await client.CreateKeyAsync(key);
        await client.RotateAsync(key);
        await client.RotateAsync(key);
        Assert.True((await client.VerifyAuditAsync()).IsValid);

        server.Sql("DROP TRIGGER audit_events_no_update; UPDATE audit_events SET actor = 'someone-else' WHERE seq = 3;");
        var edited = await client.VerifyAuditAsync();
        Assert.False(edited.IsValid);
        Assert.Equal(3, edited.FailedAtSequence);
    }

    private static async Task<long?> ReadCheckpointSequenceAsync(string directory)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(directory, "rekey.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT max(seq) FROM audit_checkpoints;";
        return await command.ExecuteScalarAsync() as long?;
    }

    private static void Sql(string directory, string sql)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(directory, "rekey.db")};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
