using System.Globalization;
using Rekey.Api;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Rewrap;

namespace Rekey.Server.Endpoints;

/// <summary>Between re-wrap job requests and statuses on the wire and the library's records; shared by the server and the CLI.</summary>
public static class RewrapMapping
{
    /// <summary>A definition from a request, with every field checked; <c>InvalidRequest</c> naming the first bad one.</summary>
    public static RewrapJobDefinition ToDefinition(KeyName key, RewrapJobRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var s = request.Source ?? throw Invalid("'source' is required.");
        var kind = Enum<SourceKind>(s.Kind ?? throw Invalid("'source.kind' is required: postgres or sqlite."), "source.kind");
        var columns = (s.Columns is { Count: > 0 } c ? c : throw Invalid("'source.columns' needs at least one column."))
            .Select(col => new CiphertextColumn(col.Name ?? throw Invalid("A column needs a 'name'."), col.Format is null ? CiphertextFormat.Text : Enum<CiphertextFormat>(col.Format, "columns.format")))
            .ToList();
        var source = new SourceDefinition(
            kind,
            s.Connection ?? throw Invalid("'source.connection' is required."),
            s.Table ?? throw Invalid("'source.table' is required."),
            s.IdColumn ?? "id",
            s.IdType is null ? IdKind.Integer : Enum<IdKind>(s.IdType, "source.id_type"),
            columns,
            s.FilterColumn,
            s.FilterValue);
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
            request.ContextTemplate);
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
