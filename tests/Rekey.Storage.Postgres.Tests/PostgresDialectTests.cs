using Npgsql;
using Rekey.Storage.Sql;
using Rekey.Testing;

namespace Rekey.Storage.Postgres.Tests;

/// <summary>The PostgreSQL dialect classifies real server errors by SQLSTATE: a lost race is a unique violation, a CHECK failure is not.</summary>
public sealed class PostgresDialectTests
{
    [Theory]
    [InlineData("INSERT INTO public.t (id, code, n) VALUES (1, 'b', 1);", true)]
    [InlineData("INSERT INTO public.t (id, code, n) VALUES (2, 'a', 1);", true)]
    [InlineData("INSERT INTO public.t (id, code, n) VALUES (3, 'c', -1);", false)]
    [InlineData("INSERT INTO public.t (id, code, n) VALUES (4, NULL, 1);", false)]
    public async Task Errors_AreClassifiedBySqlState(string statement, bool unique)
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await database.ExecuteAsync("CREATE TABLE public.t (id integer PRIMARY KEY, code text NOT NULL UNIQUE, n integer CHECK (n > 0)); INSERT INTO public.t VALUES (1, 'a', 1);");
        await using var dataSource = NpgsqlDataSource.Create(database.ConnectionString);
        SqlDialect dialect = new PostgresDialect(dataSource, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        await using var connection = await dialect.OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = statement;
        var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
        Assert.Equal(unique, dialect.IsUniqueViolation(error));
        Assert.False(dialect.IsTransient(error));
        Assert.False(dialect.Wrap(error).IsTransient);
    }

    [Fact]
    public async Task Deadlock_IsTransient()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await database.ExecuteAsync("CREATE TABLE public.d (id integer PRIMARY KEY, v integer); INSERT INTO public.d VALUES (1, 0), (2, 0);");
        await using var dataSource = NpgsqlDataSource.Create(database.ConnectionString);
        SqlDialect dialect = new PostgresDialect(dataSource, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        await using var a = await dataSource.OpenConnectionAsync();
        await using var b = await dataSource.OpenConnectionAsync();
        await using var ta = await a.BeginTransactionAsync();
        await using var tb = await b.BeginTransactionAsync();
        await new NpgsqlCommand("UPDATE public.d SET v = 1 WHERE id = 1;", a, ta).ExecuteNonQueryAsync();
        await new NpgsqlCommand("UPDATE public.d SET v = 1 WHERE id = 2;", b, tb).ExecuteNonQueryAsync();
        var first = new NpgsqlCommand("UPDATE public.d SET v = 2 WHERE id = 2;", a, ta).ExecuteNonQueryAsync();
        var second = new NpgsqlCommand("UPDATE public.d SET v = 2 WHERE id = 1;", b, tb).ExecuteNonQueryAsync();

        // The server aborts one of the two (releasing its locks), and the other then goes on.
        var outcomes = await Task.WhenAll(Outcome(first), Outcome(second));
        var deadlock = Assert.Single(outcomes.OfType<PostgresException>());
        Assert.Equal("40P01", deadlock.SqlState);
        Assert.True(dialect.IsTransient(deadlock));
        Assert.True(dialect.Wrap(deadlock).IsTransient);
    }

    private static async Task<Exception?> Outcome(Task statement)
    {
        try
        {
            await statement;
            return null;
        }
        catch (PostgresException e)
        {
            return e;
        }
    }
}
