namespace Rekey.Testing;

/// <summary>
/// The PostgreSQL the tests use: REKEY_TEST_PG (set by scripts/test.sh, which starts a throwaway
/// cluster, or by hand to an existing server with a role that may create databases). Missing
/// means the run cannot test what it must: the test fails, it never skips.
/// </summary>
public static class PostgresTestServer
{
    public static string AdminConnectionString =>
        Environment.GetEnvironmentVariable("REKEY_TEST_PG") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                "REKEY_TEST_PG is not set: run ./scripts/test.sh (it starts a throwaway PostgreSQL 15), or point REKEY_TEST_PG at a server, e.g. 'Host=127.0.0.1;Port=5432;Username=postgres;Database=postgres'.");
}
