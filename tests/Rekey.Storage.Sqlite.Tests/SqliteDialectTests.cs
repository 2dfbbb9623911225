using System.Data.Common;
using Microsoft.Data.Sqlite;
using Rekey.Storage.Sql;

namespace Rekey.Storage.Sqlite.Tests;

/// <summary>The SQLite dialect classifies real engine errors: a lost race is a unique violation, a CHECK failure is not.</summary>
public sealed class SqliteDialectTests
{
    [Theory]
    [InlineData("INSERT INTO t (id, code, n) VALUES (1, 'b', 1);", true, false)]
    [InlineData("INSERT INTO t (id, code, n) VALUES (2, 'a', 1);", true, false)]
    [InlineData("INSERT INTO t (id, code, n) VALUES (3, 'c', -1);", false, false)]
    [InlineData("INSERT INTO t (id, code, n) VALUES (4, NULL, 1);", false, false)]
    public async Task Errors_AreClassifiedByExtendedResultCode(string statement, bool unique, bool transient)
    {
        SqlDialect dialect = new SqliteDialect("Data Source=:memory:");
        await using var connection = await dialect.OpenAsync(CancellationToken.None);
        await using (var setup = connection.CreateCommand())
        {
            setup.CommandText = "CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, n INTEGER CHECK (n > 0)); INSERT INTO t VALUES (1, 'a', 1);";
            await setup.ExecuteNonQueryAsync();
        }

        await using var command = connection.CreateCommand();
        command.CommandText = statement;
        var error = await Assert.ThrowsAsync<SqliteException>(() => command.ExecuteNonQueryAsync());
        Assert.Equal(19, error.SqliteErrorCode);
        Assert.Equal(unique, dialect.IsUniqueViolation(error));
        Assert.Equal(transient, dialect.IsTransient(error));
        Assert.Equal(transient, dialect.Wrap(error).IsTransient);
    }

    [Fact]
    public async Task WriterWaitingOutTheBusyTimeout_IsTransient()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("rekey-dialect-").FullName, "busy.db");
        var connectionString = new SqliteConnectionStringBuilder { DataSource = path, DefaultTimeout = 1, Pooling = false }.ToString();
        SqlDialect dialect = new SqliteDialect(connectionString);
        await using var holder = await dialect.OpenAsync(CancellationToken.None);
        await using (var create = holder.CreateCommand())
        {
            create.CommandText = "PRAGMA journal_mode=WAL; CREATE TABLE t (x INTEGER);";
            await create.ExecuteNonQueryAsync();
        }

        await using var held = await dialect.BeginWriteAsync(holder, CancellationToken.None);
        await using var other = await dialect.OpenAsync(CancellationToken.None);
        var error = await Assert.ThrowsAsync<SqliteException>(() => dialect.BeginWriteAsync(other, CancellationToken.None));
        Assert.True(dialect.IsTransient(error));
        Assert.False(dialect.IsUniqueViolation(error));
        Assert.True(dialect.Wrap(error).IsTransient);
        Assert.Contains("SQLite store failed", dialect.Wrap(error).Message, StringComparison.Ordinal);
    }
}
