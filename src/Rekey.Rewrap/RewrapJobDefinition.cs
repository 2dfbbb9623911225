using Rekey.Keys;

namespace Rekey.Rewrap;

/// <summary>What a job does to each value.</summary>
public enum RewrapMode
{
    /// <summary>Only the wrapped data key changes; the data bytes stay as they are and are never decrypted.</summary>
    Rewrap,

    /// <summary>A new data key: each value is decrypted and encrypted again (after a suspected data-key compromise). Needs the context template.</summary>
    Reencrypt,
}

/// <summary>How a job builds each record's encryption context from its template.</summary>
public enum ContextForm
{
    /// <summary>The template with <c>{id}</c> replaced, as text (<see cref="Envelope.EncryptionContext.From"/>): what applications that pass a string use.</summary>
    Text,

    /// <summary>
    /// The template's <c>name=value</c> pairs (separated by <c>;</c>), <c>{id}</c> replaced in the
    /// values, as a pairs context (<see cref="Envelope.EncryptionContext.FromPairs(IEnumerable{KeyValuePair{string, string}})"/>):
    /// an id holding <c>;</c> or <c>=</c> stays one value.
    /// </summary>
    Pairs,
}

/// <summary>How a job checks its work at the end.</summary>
public enum VerificationMode
{
    /// <summary>No check.</summary>
    None,

    /// <summary>Decrypt a sample of <see cref="RewrapJobDefinition.SampleSize"/> values.</summary>
    Sample,

    /// <summary>Decrypt every value.</summary>
    Full,
}

/// <summary>How a ciphertext column stores envelopes.</summary>
public enum CiphertextFormat
{
    /// <summary>The text form <c>rekey:v&lt;N&gt;:...</c> in a text column.</summary>
    Text,

    /// <summary>The envelope's bytes in a binary column.</summary>
    Bytes,
}

/// <summary>Which database holds the source table.</summary>
public enum SourceKind
{
    /// <summary>PostgreSQL.</summary>
    Postgres,

    /// <summary>A SQLite file.</summary>
    Sqlite,

    /// <summary>
    /// A backup set: the encrypted files (<c>rekey file</c>) under a directory. The connection is
    /// the directory, the table a file-name pattern (default <c>*.rkf</c>); files are moved by
    /// rewriting their header only, so only <see cref="RewrapMode.Rewrap"/> applies.
    /// </summary>
    Files,
}

/// <summary>The id column's type, for keyset pagination.</summary>
public enum IdKind
{
    /// <summary>An integer id.</summary>
    Integer,

    /// <summary>A text id (ordered by the database's collation; PostgreSQL uses "C").</summary>
    Text,
}

/// <summary>A ciphertext column.</summary>
/// <param name="Name">The column's name (validated as an identifier).</param>
/// <param name="Format">Text or bytes.</param>
public sealed record CiphertextColumn(string Name, CiphertextFormat Format = CiphertextFormat.Text);

/// <summary>
/// The table a job reads and writes. Table and column names are validated and quoted as
/// identifiers; the filter is an equality on one column with a bound value, never SQL text.
/// </summary>
/// <param name="Kind">PostgreSQL or SQLite.</param>
/// <param name="Connection">A PostgreSQL connection string, or a SQLite file path.</param>
/// <param name="Table">The table, optionally <c>schema.table</c>.</param>
/// <param name="IdColumn">A unique, non-null id column, used for keyset pagination.</param>
/// <param name="IdKind">Integer or text.</param>
/// <param name="Columns">The ciphertext columns (at least one).</param>
/// <param name="FilterColumn">Only rows where this column equals <paramref name="FilterValue"/>.</param>
/// <param name="FilterValue">The filter's value.</param>
public sealed record SourceDefinition(
    SourceKind Kind,
    string Connection,
    string Table,
    string IdColumn,
    IdKind IdKind,
    IReadOnlyList<CiphertextColumn> Columns,
    string? FilterColumn = null,
    string? FilterValue = null);

/// <summary>A re-wrap job's definition.</summary>
/// <param name="Key">The key whose ciphertexts move; the target is its Active version when the job starts.</param>
/// <param name="Source">The table.</param>
/// <param name="Mode">Rewrap (default) or reencrypt.</param>
/// <param name="BatchSize">Rows per batch (each batch is one read and one write transaction).</param>
/// <param name="ThrottleRowsPerSecond">Rows per second at most; 0 for no limit.</param>
/// <param name="Concurrency">Batches transformed at once while others are read and written.</param>
/// <param name="Descending">Work from the highest id down (newest records first, usually).</param>
/// <param name="Verification">The check at the end.</param>
/// <param name="SampleSize">How many values a sample verification decrypts.</param>
/// <param name="ContextTemplate">The encryption context of each record, with <c>{id}</c> for its id (reencrypt and verification need it).</param>
/// <param name="ContextForm">Whether the template makes a text context (default) or a pairs context; it must be the form the application encrypted with.</param>
/// <param name="DataSource">
/// The registered data source the job runs over (see <see cref="DataSources"/>); its table and
/// connection are read from the registry when the job starts and each time it runs, and
/// <paramref name="Source"/> is then ignored. Null for a table given directly (the local CLI).
/// </param>
public sealed record RewrapJobDefinition(
    KeyName Key,
    SourceDefinition Source,
    RewrapMode Mode = RewrapMode.Rewrap,
    int BatchSize = 1000,
    int ThrottleRowsPerSecond = 0,
    int Concurrency = 2,
    bool Descending = false,
    VerificationMode Verification = VerificationMode.None,
    int SampleSize = 100,
    string? ContextTemplate = null,
    string? DataSource = null,
    ContextForm ContextForm = ContextForm.Text);
