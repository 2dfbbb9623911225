using System.Data.Common;
using Rekey.Errors;

namespace Rekey.Rewrap.Sources;

/// <summary>Opens the source a definition names, refusing bad names and unreadable tables before a job exists.</summary>
internal static class RewrapSources
{
    public static IRewrapSource Open(RewrapJobDefinition definition)
    {
        try
        {
            return definition.Source.Kind switch
            {
                SourceKind.Postgres => new PostgresTableSource(definition.Source, definition.Descending),
                SourceKind.Sqlite => new SqliteTableSource(definition.Source, definition.Descending),
                SourceKind.Files => new FileSetSource(definition.Source, definition.Descending),
                _ => throw new RekeyException(RekeyErrorCode.InvalidRequest, "Unknown source kind."),
            };
        }
        catch (ArgumentException e)
        {
            // Npgsql's connection-string parser: its message names the keyword, not the password.
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "The source's connection string is not usable: " + e.Message);
        }
    }

    /// <summary>Checks a source's names before anything is opened: SQL identifiers for a table, a file-name pattern for a backup set.</summary>
    public static void Validate(SourceDefinition source)
    {
        if (source.Kind == SourceKind.Files)
        {
            FileSetSource.Validate(source);
        }
        else
        {
            _ = new SourceSql(source);
        }
    }

    /// <summary>Runs <paramref name="work"/>, reporting a database's refusal (no such table or column, say) as a bad request.</summary>
    public static async Task<T> CheckedAsync<T>(Func<Task<T>> work)
    {
        try
        {
            return await work().ConfigureAwait(false);
        }
        catch (DbException e)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "The source cannot be read: " + e.Message);
        }
    }
}
