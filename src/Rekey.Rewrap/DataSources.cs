using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Rekey.Access;
using Rekey.Audit;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Rewrap.Sources;
using Rekey.Root;
using Rekey.Storage;

namespace Rekey.Rewrap;

/// <summary>A data source to register: a name, the table, and the keys whose ciphertexts it may hold.</summary>
/// <param name="Name">Lowercase letters, digits, <c>.</c>, <c>_</c> and <c>-</c>; at most 64 characters.</param>
/// <param name="Definition">The table, with its connection string (stored wrapped by the root, never returned).</param>
/// <param name="Keys">Key-name patterns: jobs over this source may only be for keys they match.</param>
public sealed record DataSourceRegistration(string Name, SourceDefinition Definition, IReadOnlyList<KeyPattern> Keys);

/// <summary>A registered data source as shown to callers: everything but its connection string.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Kind">PostgreSQL or SQLite.</param>
/// <param name="Table">The table.</param>
/// <param name="IdColumn">The id column.</param>
/// <param name="IdKind">The id's type.</param>
/// <param name="Columns">The ciphertext columns.</param>
/// <param name="FilterColumn">The filter column, if any.</param>
/// <param name="FilterValue">The filter value, if any.</param>
/// <param name="Keys">The key-name patterns jobs over it may be for.</param>
/// <param name="CreatedAt">When it was registered.</param>
public sealed record DataSourceInfo(
    string Name,
    SourceKind Kind,
    string Table,
    string IdColumn,
    IdKind IdKind,
    IReadOnlyList<CiphertextColumn> Columns,
    string? FilterColumn,
    string? FilterValue,
    IReadOnlyList<KeyPattern> Keys,
    DateTimeOffset CreatedAt)
{
    /// <summary>True when a job for <paramref name="key"/> may use this source.</summary>
    public bool Allows(KeyName key) => Keys.Any(p => p.Matches(key));
}

/// <summary>
/// The registry of data sources re-wrap jobs may touch. An admin or key-officer registers each one
/// (its connection string stored wrapped by the root key, bound to the source's name, and never
/// returned); jobs then name a source instead of carrying a connection string, so no API caller
/// can point the server at a file or host of their choosing. A Rekey store is never accepted as a
/// source. Failures to reach or read a source are reported to callers in one generic sentence;
/// the details go to <see cref="DataSourceOptions.OnSourceError"/> (the server log).
/// </summary>
public sealed class DataSources
{
    private const int MaxNameLength = 64;

    private readonly IDataSourceStore _store;
    private readonly RootKeyRing _roots;
    private readonly TimeProvider _time;
    private readonly DataSourceOptions _options;

    /// <summary>Creates the registry over the store it lives in and the root that wraps connection strings.</summary>
    public DataSources(IDataSourceStore store, IRootKeyProvider root, DataSourceOptions? options = null, TimeProvider? time = null)
        : this(store, new RootKeyRing(root ?? throw new ArgumentNullException(nameof(root))), options, time)
    {
    }

    /// <summary>A registry whose connections may be wrapped under any root of <paramref name="roots"/> (new ones under its primary).</summary>
    public DataSources(IDataSourceStore store, RootKeyRing roots, DataSourceOptions? options = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(roots);
        _store = store;
        _roots = roots;
        _options = options ?? new DataSourceOptions();
        _time = time ?? TimeProvider.System;
    }

    /// <summary>
    /// Checks and registers a source: its name and identifiers, that it is not a Rekey store, and
    /// that its table and columns can be read. Audited as <c>source.register</c> (without the connection).
    /// </summary>
    public async Task<DataSourceInfo> RegisterAsync(DataSourceRegistration registration, ChangeContext change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registration);
        ArgumentNullException.ThrowIfNull(change);
        CheckName(registration.Name);
        if (registration.Keys is not { Count: > 0 })
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "A data source needs at least one key pattern it may hold ciphertexts of.");
        }

        if (string.IsNullOrWhiteSpace(registration.Definition.Connection))
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "A data source needs a connection (a PostgreSQL connection string, a SQLite file path, or a backup set's directory).");
        }

        Sources.RewrapSources.Validate(registration.Definition);
        await ProbeAsync(registration.Name, registration.Definition, cancellationToken).ConfigureAwait(false);

        var now = Audit.AuditChain.TruncateToMilliseconds(_time.GetUtcNow());
        var info = InfoOf(registration.Name, registration.Definition, registration.Keys, now);
        var plain = Encoding.UTF8.GetBytes(registration.Definition.Connection);
        byte[] wrapped;
        try
        {
            wrapped = await _roots.Primary.WrapAsync(plain, RootBindings.ForDataSource(registration.Name), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }

        var document = JsonSerializer.Serialize(info, DataSourceJson.Default.DataSourceInfo);
        var details = $"{info.Kind.ToString().ToLowerInvariant()} table {info.Table}; keys {string.Join(",", info.Keys.Select(k => k.Value))}";
        await _store.AddDataSourceAsync(
            new StoredDataSource(registration.Name, document, wrapped, _roots.Primary.KeyId, now),
            ChangeContext.Stamp(change, new AuditRecord(now, change.Actor, "source.register", null, null, null, "success", "source " + registration.Name + "; " + details)),
            cancellationToken).ConfigureAwait(false);
        return info;
    }

    /// <summary>Every registered source (never a connection string).</summary>
    public async Task<IReadOnlyList<DataSourceInfo>> ListAsync(CancellationToken cancellationToken = default) =>
        (await _store.ListDataSourcesAsync(cancellationToken).ConfigureAwait(false)).Select(Parse).ToList();

    /// <summary>One source; <c>SourceNotFound</c> when there is none by that name.</summary>
    public async Task<DataSourceInfo> GetAsync(string name, CancellationToken cancellationToken = default) =>
        Parse(await FindAsync(name, cancellationToken).ConfigureAwait(false));

    /// <summary>Removes a source; jobs that name it fail on their next run. Audited as <c>source.remove</c>.</summary>
    public async Task RemoveAsync(string name, ChangeContext change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        var now = Audit.AuditChain.TruncateToMilliseconds(_time.GetUtcNow());
        var audit = ChangeContext.Stamp(change, new AuditRecord(now, change.Actor, "source.remove", null, null, null, "success", "source " + name));
        if (!await _store.RemoveDataSourceAsync(name, audit, cancellationToken).ConfigureAwait(false))
        {
            throw NotFound(name);
        }
    }

    /// <summary>
    /// The definition a job for <paramref name="key"/> runs over, with the connection string
    /// unwrapped. <c>Forbidden</c> when the source may not hold that key's ciphertexts.
    /// </summary>
    internal async Task<SourceDefinition> ResolveAsync(string name, KeyName key, CancellationToken cancellationToken)
    {
        var stored = await FindAsync(name, cancellationToken).ConfigureAwait(false);
        var info = Parse(stored);
        if (!info.Allows(key))
        {
            throw new RekeyException(RekeyErrorCode.Forbidden, $"The data source '{name}' is not registered for key '{key}'.");
        }

        var plain = await _roots.Resolve(stored.RootKeyId).UnwrapAsync(stored.WrappedConnection, RootBindings.ForDataSource(name), cancellationToken).ConfigureAwait(false);
        try
        {
            var definition = new SourceDefinition(info.Kind, Encoding.UTF8.GetString(plain), info.Table, info.IdColumn, info.IdKind, info.Columns, info.FilterColumn, info.FilterValue);
            await ProbeAsync(name, definition, cancellationToken, readRow: false).ConfigureAwait(false);
            return definition;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    /// <summary>Reports a source failure: details to the log hook, one sentence to the caller.</summary>
    internal RekeyException Unreachable(string name, Exception cause)
    {
        _options.OnSourceError?.Invoke(name, cause);
        return new RekeyException(RekeyErrorCode.InvalidRequest, $"The data source '{name}' cannot be reached or read; the server log has the details.");
    }

    private async Task ProbeAsync(string name, SourceDefinition definition, CancellationToken cancellationToken, bool readRow = true)
    {
        try
        {
            await StoreGuard.EnsureNotRekeyStoreAsync(definition, cancellationToken).ConfigureAwait(false);
            if (!readRow)
            {
                return;
            }

            await using var source = RewrapSources.Open(new RewrapJobDefinition(KeyName.Parse("probe"), definition));
            using var arena = new ByteArena();
            await source.ReadAsync(null, 1, arena, cancellationToken).ConfigureAwait(false);
        }
        catch (RekeyException e) when (e.Message == StoreGuard.Refusal)
        {
            throw;
        }
        catch (Exception e) when (e is RekeyException or System.Data.Common.DbException or IOException or ArgumentException or InvalidOperationException or UnauthorizedAccessException)
        {
            throw Unreachable(name, e);
        }
    }

    private async Task<StoredDataSource> FindAsync(string name, CancellationToken cancellationToken) =>
        await _store.FindDataSourceAsync(name, cancellationToken).ConfigureAwait(false) ?? throw NotFound(name);

    private static DataSourceInfo InfoOf(string name, SourceDefinition d, IReadOnlyList<KeyPattern> keys, DateTimeOffset at) =>
        new(name, d.Kind, d.Table, d.IdColumn, d.IdKind, d.Columns, d.FilterColumn, d.FilterValue, keys, at);

    /// <summary>A stored registration's description (patterns, table, columns), read without the root key.</summary>
    public static DataSourceInfo Describe(StoredDataSource stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        return Parse(stored);
    }

    /// <summary>The name a registered source's inventory counts are kept under.</summary>
    public static string InventoryName(string sourceName) => "source:" + sourceName;

    private static DataSourceInfo Parse(StoredDataSource stored) =>
        JsonSerializer.Deserialize(stored.Document, DataSourceJson.Default.DataSourceInfo) ?? throw new InvalidDataException($"The data source '{stored.Name}' has no description.");

    private static void CheckName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength || !char.IsAsciiLetterLower(name[0]) && !char.IsAsciiDigit(name[0])
            || name.AsSpan().ContainsAnyExcept("abcdefghijklmnopqrstuvwxyz0123456789._-"))
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "A data source name is 1 to 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit.");
        }
    }

    private static RekeyException NotFound(string name) => new(RekeyErrorCode.SourceNotFound, $"No data source is registered as '{name}'.");
}

/// <summary>Settings of <see cref="DataSources"/>.</summary>
public sealed class DataSourceOptions
{
    /// <summary>Called with the source's name and the real failure when a source cannot be reached or read (the server logs it).</summary>
    public Action<string, Exception>? OnSourceError { get; set; }
}

/// <summary>Key patterns as plain strings in source documents.</summary>
internal sealed class KeyPatternJsonConverter : JsonConverter<KeyPattern>
{
    public override KeyPattern Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => KeyPattern.Parse(reader.GetString()!);

    public override void Write(Utf8JsonWriter writer, KeyPattern value, JsonSerializerOptions options) => writer.WriteStringValue(value.Value);
}

/// <summary>The source document's JSON.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, UseStringEnumConverter = true, Converters = [typeof(KeyPatternJsonConverter)])]
[JsonSerializable(typeof(DataSourceInfo))]
internal sealed partial class DataSourceJson : JsonSerializerContext;
