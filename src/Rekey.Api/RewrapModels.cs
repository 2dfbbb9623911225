namespace Rekey.Api;

/// <summary>A ciphertext column of a re-wrap source.</summary>
/// <param name="Name">The column's name.</param>
/// <param name="Format"><c>text</c> (default) or <c>bytes</c>.</param>
public sealed record RewrapColumnRequest(string? Name = null, string? Format = null);

/// <summary>A data source to register (<c>POST /v1/sources</c>): the table re-wrap jobs may touch.</summary>
/// <param name="Name">Its name: lowercase letters, digits, <c>.</c>, <c>_</c>, <c>-</c>.</param>
/// <param name="Kind"><c>postgres</c> or <c>sqlite</c>.</param>
/// <param name="Connection">A PostgreSQL connection string or a SQLite file path, as the server sees it. Stored wrapped by the root; never returned.</param>
/// <param name="Table">The table, optionally <c>schema.table</c>.</param>
/// <param name="IdColumn">The unique id column (default <c>id</c>).</param>
/// <param name="IdType"><c>integer</c> (default) or <c>text</c>.</param>
/// <param name="Columns">The ciphertext columns.</param>
/// <param name="FilterColumn">Only rows where this column equals <paramref name="FilterValue"/>.</param>
/// <param name="FilterValue">The filter's value.</param>
/// <param name="Keys">Key-name patterns whose ciphertexts the table may hold; jobs over it may only be for these keys.</param>
/// <param name="Reason">Recorded in the audit log.</param>
public sealed record DataSourceRequest(
    string? Name = null,
    string? Kind = null,
    string? Connection = null,
    string? Table = null,
    string? IdColumn = null,
    string? IdType = null,
    IReadOnlyList<RewrapColumnRequest>? Columns = null,
    string? FilterColumn = null,
    string? FilterValue = null,
    IReadOnlyList<string>? Keys = null,
    string? Reason = null);

/// <summary>A registered data source, without its connection.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Kind"><c>postgres</c> or <c>sqlite</c>.</param>
/// <param name="Table">The table.</param>
/// <param name="IdColumn">The id column.</param>
/// <param name="IdType"><c>integer</c> or <c>text</c>.</param>
/// <param name="Columns">The ciphertext columns.</param>
/// <param name="FilterColumn">The filter column.</param>
/// <param name="FilterValue">The filter value.</param>
/// <param name="Keys">The key-name patterns jobs over it may be for.</param>
/// <param name="CreatedAt">When it was registered.</param>
public sealed record DataSourceResource(
    string Name,
    string Kind,
    string Table,
    string IdColumn,
    string IdType,
    IReadOnlyList<RewrapColumnRequest> Columns,
    string? FilterColumn,
    string? FilterValue,
    IReadOnlyList<string> Keys,
    DateTimeOffset CreatedAt);

/// <summary>Registered data sources.</summary>
/// <param name="Sources">The sources the caller's key patterns overlap.</param>
public sealed record DataSourcesResponse(IReadOnlyList<DataSourceResource> Sources);

/// <summary>Body of <c>POST /v1/jobs/rewrap/{name}</c>.</summary>
/// <param name="Source">The name of a registered data source (<c>/v1/sources</c>).</param>
/// <param name="Mode"><c>rewrap</c> (default) or <c>reencrypt</c>.</param>
/// <param name="BatchSize">Rows per batch (default 1000).</param>
/// <param name="ThrottleRowsPerSecond">0 (default) for no limit.</param>
/// <param name="Concurrency">Batches transformed at once (default 2).</param>
/// <param name="Descending">Highest ids first.</param>
/// <param name="Verification"><c>none</c> (default), <c>sample</c> or <c>full</c>.</param>
/// <param name="SampleSize">Values a sample decrypts (default 100).</param>
/// <param name="ContextTemplate">Each record's encryption context, with <c>{id}</c>; needed by reencrypt and verification.</param>
/// <param name="Reason">Recorded in the audit log.</param>
/// <param name="ContextForm"><c>text</c> (default: the template as a string) or <c>pairs</c> (its <c>name=value;...</c> pairs as a pairs context); the form the application encrypted with.</param>
public sealed record RewrapJobRequest(
    string? Source = null,
    string? Mode = null,
    int? BatchSize = null,
    int? ThrottleRowsPerSecond = null,
    int? Concurrency = null,
    bool? Descending = null,
    string? Verification = null,
    int? SampleSize = null,
    string? ContextTemplate = null,
    string? Reason = null,
    string? ContextForm = null);

/// <summary>A re-wrap job's progress. Never carries credentials or key material.</summary>
/// <param name="Id">The job's id.</param>
/// <param name="Key">The key.</param>
/// <param name="Source">The source, without credentials.</param>
/// <param name="Mode">rewrap or reencrypt.</param>
/// <param name="State">Pending, Running, Paused, Cancelled, Completed or Failed.</param>
/// <param name="TargetVersion">The version values move to.</param>
/// <param name="Pass">The pass, from 1.</param>
/// <param name="Done">Rows looked at in this pass.</param>
/// <param name="Total">Rows in the source when the pass started.</param>
/// <param name="Rewrapped">Values moved.</param>
/// <param name="AlreadyCurrent">Values already at the target version or newer.</param>
/// <param name="Skipped">Rows changed by the application meanwhile, left for the next pass.</param>
/// <param name="Failed">Values that could not be moved.</param>
/// <param name="RowsPerSecond">Rate over running time.</param>
/// <param name="EtaSeconds">Time left in this pass at that rate.</param>
/// <param name="PerVersion">Values seen in this pass, by version.</param>
/// <param name="Verification">The verification's result.</param>
/// <param name="Error">Why it failed.</param>
/// <param name="StartedAt">When created.</param>
/// <param name="FinishedAt">When ended.</param>
public sealed record RewrapJobResource(
    string Id,
    string Key,
    string Source,
    string Mode,
    string State,
    int TargetVersion,
    int Pass,
    long Done,
    long Total,
    long Rewrapped,
    long AlreadyCurrent,
    long Skipped,
    long Failed,
    double RowsPerSecond,
    double? EtaSeconds,
    IReadOnlyDictionary<string, long> PerVersion,
    string? Verification,
    string? Error,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt);

/// <summary>Every re-wrap job, newest first.</summary>
/// <param name="Jobs">The jobs.</param>
public sealed record RewrapJobsResponse(IReadOnlyList<RewrapJobResource> Jobs);

/// <summary>A record a job could not move.</summary>
/// <param name="RecordId">Its id in the source.</param>
/// <param name="Column">The column.</param>
/// <param name="Version">The version it is under, when readable.</param>
/// <param name="Reason">Why.</param>
/// <param name="At">When found.</param>
public sealed record RewrapFailureResource(string RecordId, string Column, int? Version, string Reason, DateTimeOffset At);

/// <summary>A job's failures.</summary>
/// <param name="Failures">The failures, by record id.</param>
public sealed record RewrapFailuresResponse(IReadOnlyList<RewrapFailureResource> Failures);

/// <summary>How many values one version protects in one source.</summary>
/// <param name="Source">The source.</param>
/// <param name="Version">The version.</param>
/// <param name="Count">Values under it.</param>
/// <param name="CountedAt">When counted.</param>
public sealed record InventoryResource(string Source, int Version, long Count, DateTimeOffset CountedAt);

/// <summary>A key's per-version inventory across sources.</summary>
/// <param name="Key">The key.</param>
/// <param name="Counts">The counts.</param>
public sealed record InventoryResponse(string Key, IReadOnlyList<InventoryResource> Counts);
