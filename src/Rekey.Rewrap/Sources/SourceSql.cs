namespace Rekey.Rewrap.Sources;

/// <summary>The quoted names of a source, checked once: nothing from a definition reaches SQL unquoted.</summary>
internal sealed class SourceSql
{
    public SourceSql(SourceDefinition source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Columns is not { Count: > 0 })
        {
            throw new Errors.RekeyException(Errors.RekeyErrorCode.InvalidRequest, "A source needs at least one ciphertext column.");
        }

        Table = SqlIdentifier.Table(source.Table);
        Id = SqlIdentifier.Column(source.IdColumn, "id column");
        Columns = source.Columns.Select(c => SqlIdentifier.Column(c.Name, "ciphertext column")).ToArray();
        if (Columns.Append(Id).Distinct(StringComparer.OrdinalIgnoreCase).Count() != Columns.Length + 1)
        {
            throw new Errors.RekeyException(Errors.RekeyErrorCode.InvalidRequest, "The id column and the ciphertext columns must all be different.");
        }

        Filter = source.FilterColumn is null ? null : SqlIdentifier.Column(source.FilterColumn, "filter column");
        if (Filter is not null && source.FilterValue is null)
        {
            throw new Errors.RekeyException(Errors.RekeyErrorCode.InvalidRequest, "A filter column needs a filter value.");
        }
    }

    public string Table { get; }

    public string Id { get; }

    public string[] Columns { get; }

    public string? Filter { get; }
}
