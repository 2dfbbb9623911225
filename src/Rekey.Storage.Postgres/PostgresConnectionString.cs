using Npgsql;

namespace Rekey.Storage.Postgres;

/// <summary>
/// Accepts Npgsql's keyword form (<c>Host=db;Database=rekey;Username=rekey</c>) or a URL
/// (<c>postgres://user:password@host:5432/database?sslmode=require</c>).
/// </summary>
public static class PostgresConnectionString
{
    /// <summary>True when the text looks like a PostgreSQL connection string or URL rather than a file path.</summary>
    public static bool IsPostgres(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
            || text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
            || text.Contains("Host=", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Normalizes either form to Npgsql's keyword form; throws <see cref="ArgumentException"/> when invalid.</summary>
    public static string Normalize(string text)
    {
        ArgumentException.ThrowIfNullOrEmpty(text);
        if (!text.Contains("://", StringComparison.Ordinal))
        {
            try
            {
                return new NpgsqlConnectionStringBuilder(text).ConnectionString;
            }
            catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException)
            {
                // Npgsql's messages name a parameter ("Couldn't set bogus (Parameter 'bogus')") or
                // nothing useful ("The given key was not present"); name the setting and the fix.
                var setting = (e as ArgumentException)?.ParamName;
                throw new ArgumentException(
                    setting is null
                        ? "This PostgreSQL connection string cannot be read: write it as Host=db;Port=5432;Database=rekey;Username=rekey (see Npgsql's connection string parameters) or as postgres://user@host:5432/database."
                        : $"The PostgreSQL connection string has a setting '{setting}' that is unknown or has a bad value; see Npgsql's connection string parameters for the keywords and their values.",
                    nameof(text),
                    e);
            }
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("postgres" or "postgresql") || string.IsNullOrEmpty(uri.Host))
        {
            throw new ArgumentException("A PostgreSQL URL looks like postgres://user:password@host:5432/database.", nameof(text));
        }

        var builder = new NpgsqlConnectionStringBuilder { Host = uri.Host };
        if (uri.Port > 0)
        {
            builder.Port = uri.Port;
        }

        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length > 0)
        {
            builder.Database = database;
        }

        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2)
            {
                builder.Password = Uri.UnescapeDataString(parts[1]);
            }
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            if (kv.Length == 2 && kv[0].Equals("sslmode", StringComparison.OrdinalIgnoreCase))
            {
                builder.SslMode = Enum.Parse<SslMode>(kv[1], ignoreCase: true);
            }
        }

        return builder.ConnectionString;
    }

    /// <summary>The connection string without its password, for messages.</summary>
    public static string Redact(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (builder.Password is not null)
        {
            builder.Password = "***";
        }

        return builder.ConnectionString;
    }
}
