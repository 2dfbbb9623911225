using System.Globalization;
using Rekey.Access;
using Rekey.Api;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Rewrap;

namespace Rekey.Server.Endpoints;

/// <summary>Between re-wrap job requests and statuses on the wire and the library's records; shared by the server and the CLI.</summary>
public static class RewrapMapping
{
    /// <summary>
    /// A definition from a request, with every field checked; <c>InvalidRequest</c> naming the
    /// first bad one. The table is the registered source the request names, or, for the local
    /// CLI only, <paramref name="inline"/>.
    /// </summary>
    public static RewrapJobDefinition ToDefinition(KeyName key, RewrapJobRequest request, SourceDefinition? inline = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var registered = inline is null ? request.Source ?? throw Invalid("'source' is required: the name of a registered data source (see /v1/sources).") : null;

        // A registered source's table is filled in from the registry when the job starts.
        var source = inline ?? new SourceDefinition(SourceKind.Postgres, string.Empty, string.Empty, "id", IdKind.Integer, []);
        return new RewrapJobDefinition(
            key,
            source,
            request.Mode is null ? RewrapMode.Rewrap : Enum<RewrapMode>(request.Mode, "mode"),
            request.BatchSize ?? 1000,
            request.ThrottleRowsPerSecond ?? 0,
            request.Concurrency ?? 2,
            request.Descending ?? false,
            request.Verification is null ? VerificationMode.None : Enum<VerificationMode>(request.Verification, "verification"),
            request.SampleSize ?? 100,
            request.ContextTemplate,
            registered,
            request.ContextForm is null ? ContextForm.Text : Enum<ContextForm>(request.ContextForm, "context_form"));
    }

    /// <summary>A table from a source request, with every field checked.</summary>
    public static SourceDefinition ToSource(DataSourceRequest s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var kind = Enum<SourceKind>(s.Kind ?? throw Invalid("'kind' is required: postgres, sqlite or files."), "kind");
        if (kind == SourceKind.Files)
        {
            // A backup set: the directory, a file-name pattern, and each file's header as its one value.
            return new SourceDefinition(kind, s.Connection ?? throw Invalid("'connection' is required: the backup set's directory."), s.Table ?? "*.rkf", "path", IdKind.Text, [new CiphertextColumn("header", CiphertextFormat.Bytes)]);
        }

        var columns = (s.Columns is { Count: > 0 } c ? c : throw Invalid("'columns' needs at least one column."))
            .Select(col => new CiphertextColumn(col.Name ?? throw Invalid("A column needs a 'name'."), col.Format is null ? CiphertextFormat.Text : Enum<CiphertextFormat>(col.Format, "columns.format")))
            .ToList();
        return new SourceDefinition(
            kind,
            s.Connection ?? throw Invalid("'connection' is required."),
            s.Table ?? throw Invalid("'table' is required."),
            s.IdColumn ?? "id",
            s.IdType is null ? IdKind.Integer : Enum<IdKind>(s.IdType, "id_type"),
            columns,
            s.FilterColumn,
            s.FilterValue);
    }

    /// <summary>A registration from a source request.</summary>
    public static DataSourceRegistration ToRegistration(DataSourceRequest s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var keys = (s.Keys is { Count: > 0 } k ? k : throw Invalid("'keys' needs at least one key pattern the source may hold ciphertexts of."))
            .Select(p => KeyPattern.TryParse(p, out var pattern) ? pattern : throw Invalid($"'{p}' is not a key pattern: an exact key name, 'prefix/*' or '*'."))
            .ToList();
        return new DataSourceRegistration(s.Name ?? throw Invalid("'name' is required."), ToSource(s), keys);
    }

    /// <summary>A registered source for the wire.</summary>
    public static DataSourceResource ToResource(DataSourceInfo s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return new DataSourceResource(
            s.Name,
            s.Kind.ToString().ToLowerInvariant(),
            s.Table,
            s.IdColumn,
            s.IdKind.ToString().ToLowerInvariant(),
            s.Columns.Select(c => new RewrapColumnRequest(c.Name, c.Format.ToString().ToLowerInvariant())).ToList(),
            s.FilterColumn,
            s.FilterValue,
            s.Keys.Select(k => k.Value).ToList(),
            s.CreatedAt);
    }

    /// <summary>A status for the wire.</summary>
    public static RewrapJobResource ToResource(RewrapJobStatus s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return new RewrapJobResource(
            s.Id, s.Key.Value, s.Source, s.Mode.ToString().ToLowerInvariant(), s.State.ToString(), s.TargetVersion, s.Pass, s.Done, s.Total,
            s.Rewrapped, s.AlreadyCurrent, s.Skipped, s.Failed, Math.Round(s.RowsPerSecond, 1), s.Eta is { } eta ? Math.Round(eta.TotalSeconds, 1) : null,
            s.PerVersion.ToDictionary(p => p.Key.ToString(CultureInfo.InvariantCulture), p => p.Value), s.Verification, s.Error, s.StartedAt, s.FinishedAt);
    }

    private static T Enum<T>(string text, string field)
        where T : struct, System.Enum =>
        System.Enum.TryParse<T>(text, ignoreCase: true, out var value) && System.Enum.IsDefined(value) && !text.Any(char.IsDigit)
            ? value
            : throw Invalid($"'{field}' must be one of {string.Join(", ", System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}.");

    private static RekeyException Invalid(string message) => new(RekeyErrorCode.InvalidRequest, message);
}
