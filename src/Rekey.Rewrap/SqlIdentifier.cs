using System.Buffers;
using Rekey.Errors;

namespace Rekey.Rewrap;

/// <summary>
/// Table and column names from a job definition: letters, digits and underscores, not starting
/// with a digit, at most 63 characters per part, a table optionally <c>schema.table</c>. Anything
/// else is refused before any SQL is built, and accepted names are always double-quoted, so a job
/// definition can never carry SQL.
/// </summary>
public static class SqlIdentifier
{
    private const int MaxLength = 63;
    private static readonly SearchValues<char> Allowed = SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");

    /// <summary>The quoted form of a column name; <c>InvalidRequest</c> when it is not a plain identifier.</summary>
    public static string Column(string? name, string what) => Quote(Check(name, what));

    /// <summary>The quoted form of a table name (<c>table</c> or <c>schema.table</c>).</summary>
    public static string Table(string? name)
    {
        if (name is null)
        {
            throw Invalid("table", name);
        }

        var parts = name.Split('.');
        return parts.Length is 1 or 2
            ? string.Join('.', parts.Select(p => Quote(Check(p, "table"))))
            : throw Invalid("table", name);
    }

    private static string Check(string? name, string what) =>
        name is { Length: > 0 and <= MaxLength } && !char.IsAsciiDigit(name[0]) && !name.AsSpan().ContainsAnyExcept(Allowed)
            ? name
            : throw Invalid(what, name);

    private static string Quote(string name) => "\"" + name + "\"";

    private static RekeyException Invalid(string what, string? name) =>
        new(RekeyErrorCode.InvalidRequest, $"The {what} name {(name is null ? "is missing" : $"'{Printable(name)}' is not a plain identifier")}: use letters, digits and '_' (a table may be 'schema.table'), at most {MaxLength} characters, not starting with a digit.");

    // Echo a refused name safely: no control characters, and not unbounded.
    private static string Printable(string name) => new(name.Take(80).Select(c => char.IsControl(c) ? '?' : c).ToArray());
}
