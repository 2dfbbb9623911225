using System.CommandLine;
using Rekey.Api;

namespace Rekey.Cli;

/// <summary>The options that describe a table, shared by <c>rekey source add</c> and a local <c>rekey rewrap start</c>.</summary>
internal sealed class TableOptions
{
    public TableOptions(bool required)
    {
        Kind = new Option<string?>("--kind") { Description = "postgres, sqlite, or files (a backup set of encrypted files).", Required = required };
        Connection = new Option<string?>("--connection") { Description = "PostgreSQL connection string, SQLite file path, or the backup set's directory.", Required = required };
        Table = new Option<string?>("--table") { Description = "The table (schema.table allowed); for files, a file-name pattern (default *.rkf)." };
        IdColumn = new Option<string>("--id-column") { Description = "Its unique id column (default id).", DefaultValueFactory = _ => "id" };
        IdType = new Option<string>("--id-type") { Description = "integer (default) or text.", DefaultValueFactory = _ => "integer" };
        Columns = new Option<string[]>("--column") { Description = "A ciphertext column; NAME or NAME:bytes for binary envelopes (repeat for several). Not for files.", AllowMultipleArgumentsPerToken = true };
        Filter = new Option<string?>("--filter") { Description = "Only rows where COLUMN=VALUE." };
    }

    public Option<string?> Kind { get; }

    public Option<string?> Connection { get; }

    public Option<string?> Table { get; }

    public Option<string> IdColumn { get; }

    public Option<string> IdType { get; }

    public Option<string[]> Columns { get; }

    public Option<string?> Filter { get; }

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Kind, Connection, Table, IdColumn, IdType, Columns, Filter })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>True when any table option was given (a local job over a table named directly).</summary>
    public bool AnyGiven(ParseResult parse) => parse.GetValue(Kind) is not null || parse.GetValue(Connection) is not null || parse.GetValue(Table) is not null;

    /// <summary>The table as a source request (name, keys and reason filled in by the caller).</summary>
    public DataSourceRequest Request(ParseResult parse)
    {
        string? filterColumn = null, filterValue = null;
        if (parse.GetValue(Filter) is { } f)
        {
            var eq = f.IndexOf('=', StringComparison.Ordinal);
            (filterColumn, filterValue) = eq > 0 ? (f[..eq], f[(eq + 1)..]) : throw new UsageException("--filter is COLUMN=VALUE.");
        }

        if (parse.GetValue(Kind) is not "files" && (parse.GetValue(Table) is null || parse.GetValue(Columns) is not { Length: > 0 }))
        {
            throw new UsageException("A table needs --table and at least one --column.");
        }

        return new DataSourceRequest(
            Kind: parse.GetValue(Kind),
            Connection: parse.GetValue(Connection),
            Table: parse.GetValue(Table),
            IdColumn: parse.GetValue(IdColumn),
            IdType: parse.GetValue(IdType),
            Columns: (parse.GetValue(Columns) ?? []).Select(c => c.EndsWith(":bytes", StringComparison.Ordinal) ? new RewrapColumnRequest(c[..^6], "bytes") : new RewrapColumnRequest(c, "text")).ToList(),
            FilterColumn: filterColumn,
            FilterValue: filterValue);
    }
}
