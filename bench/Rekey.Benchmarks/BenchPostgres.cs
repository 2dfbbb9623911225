using Npgsql;

namespace Rekey.Benchmarks;

/// <summary>Runs one SQL command on a PostgreSQL server (scratch databases, tables, VACUUM), with no time limit.</summary>
internal static class BenchPostgres
{
    public static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync();
    }
}
