using Microsoft.Data.Sqlite;
using Npgsql;
using Rekey.Errors;

namespace Rekey.Rewrap.Sources;

/// <summary>
/// Refuses a source that is a Rekey store: a job over Rekey's own tables would let whoever runs it
/// read token ids, audit events or wrapped material through job failures and the inventory. The
/// check looks at what the database holds, not at its path or host, so a copy, a hard link or
/// another spelling of the same address is caught too.
/// </summary>
internal static class StoreGuard
{
    /// <summary>The message of the refusal.</summary>
    public const string Refusal = "A data source can never be a Rekey store.";

    public static async Task EnsureNotRekeyStoreAsync(SourceDefinition source, CancellationToken cancellationToken)
    {
        // A backup set only ever has the header slots of valid encrypted files rewritten; nothing of a store can be read through it.
        if (source.Kind == SourceKind.Files)
        {
            return;
        }

        var sql = new SourceSql(source);
        if (source.Kind == SourceKind.Sqlite)
        {
            var builder = new SqliteConnectionStringBuilder { DataSource = Path.GetFullPath(source.Connection), Mode = SqliteOpenMode.ReadOnly, Pooling = false };
            await using var connection = new SqliteConnection(builder.ToString());
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('schema_migrations', 'audit_events', 'key_versions', 'tokens');";
            if (Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) > 0)
            {
                throw new RekeyException(RekeyErrorCode.InvalidRequest, Refusal);
            }

            return;
        }

        await using var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(source.Connection) { Pooling = false }.ConnectionString);
        await using var check = dataSource.CreateCommand(
            "SELECT n.nspname = 'rekey' AND to_regclass('rekey.schema_migrations') IS NOT NULL FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1);");
        check.Parameters.AddWithValue(sql.Table);
        if (await check.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, Refusal);
        }
    }
}
