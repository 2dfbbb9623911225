namespace Rekey.Storage.Postgres.Tests;

public sealed class PostgresConnectionStringTests
{
    [Fact]
    public void Normalize_Url_BecomesKeywords()
    {
        var normalized = PostgresConnectionString.Normalize("postgres://rekey:p%40ss@db.internal:6543/keys?sslmode=require");
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(normalized);
        Assert.Equal(("db.internal", 6543, "keys", "rekey", "p@ss", Npgsql.SslMode.Require), (builder.Host, builder.Port, builder.Database, builder.Username, builder.Password, builder.SslMode));
    }

    [Fact]
    public void Normalize_Keywords_AreKept() =>
        Assert.Contains("Host=h", PostgresConnectionString.Normalize("Host=h;Database=d"), StringComparison.Ordinal);

    [Theory]
    [InlineData("mysql://x/y")]
    [InlineData("postgres:///nohost")]
    [InlineData("Host=h;Bogus=1")]
    public void Normalize_Invalid_Throws(string text) => Assert.Throws<ArgumentException>(() => PostgresConnectionString.Normalize(text));

    [Fact]
    public void Redact_HidesPassword() =>
        Assert.DoesNotContain("secret", PostgresConnectionString.Redact("Host=h;Password=secret"), StringComparison.Ordinal);

    [Theory]
    [InlineData("postgres://h/d", true)]
    [InlineData("Host=h;Database=d", true)]
    [InlineData("/var/lib/rekey/rekey.db", false)]
    public void IsPostgres_TellsUrlsAndPathsApart(string text, bool expected) => Assert.Equal(expected, PostgresConnectionString.IsPostgres(text));
}
