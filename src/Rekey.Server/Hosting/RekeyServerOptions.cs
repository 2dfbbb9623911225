using System.Net;
using Rekey.Storage.Postgres;

namespace Rekey.Server.Hosting;

/// <summary>
/// What a server needs to start: where its store and root key are, where it listens, and its
/// limits. Read from a JSON file, <c>REKEY_*</c> environment variables and flags, in that order
/// of precedence (flags win); <see cref="Validate"/> reports every problem at once.
/// </summary>
public sealed class RekeyServerOptions
{
    /// <summary>The default listen address: loopback only.</summary>
    public const string DefaultListen = "http://127.0.0.1:8200";

    /// <summary>The default request body limit: 1 MiB.</summary>
    public const long DefaultMaxRequestBodyBytes = 1024 * 1024;

    /// <summary>The store: a SQLite file path, or a PostgreSQL connection string (keywords or <c>postgres://</c> URL).</summary>
    public string? Store { get; set; }

    /// <summary>The root key file (created by <c>rekey init</c>); alternative to <see cref="RootPassphraseEnv"/>.</summary>
    public string? RootKeyFile { get; set; }

    /// <summary>The root as one setting (<c>root</c>, REKEY_ROOT): <c>file:PATH</c> or <c>pkcs11:library=PATH;token=LABEL;key=LABEL;pin-env=VAR</c>.</summary>
    public string? Root { get; set; }

    /// <summary>
    /// Roots that wrapped material before <see cref="Root"/> (<c>previous_roots</c>, REKEY_PREVIOUS_ROOTS__0...,
    /// --previous-root), each in the same form: they read what they wrapped until <c>rekey root migrate</c>
    /// has moved it, and are dropped once <c>rekey root status</c> shows they wrap nothing.
    /// </summary>
    public IList<string> PreviousRoots { get; set; } = [];

    /// <summary>The root key's parameters file, for a passphrase-derived root key.</summary>
    public string? RootParamsFile { get; set; }

    /// <summary>The environment variable holding the root passphrase (never the passphrase itself).</summary>
    public string? RootPassphraseEnv { get; set; }

    /// <summary>Where to listen: <c>http://host:port</c>, <c>https://host:port</c> (with <see cref="TlsCert"/>) or <c>host:port</c> (plain HTTP).</summary>
    public string Listen { get; set; } = DefaultListen;

    /// <summary>A PEM certificate (chain) to serve HTTPS with; needs <see cref="TlsKey"/> and an <c>https://</c> listen address. Reloaded when the file changes.</summary>
    public string? TlsCert { get; set; }

    /// <summary>The PEM private key of <see cref="TlsCert"/> (mode 0600).</summary>
    public string? TlsKey { get; set; }

    /// <summary>Largest request body accepted; larger ones get 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = DefaultMaxRequestBodyBytes;

    /// <summary>Sign the audit chain's head after this many new events.</summary>
    public int CheckpointEveryEvents { get; set; } = 1000;

    /// <summary>Sign the audit chain's head at least this often while it grows.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Where every signed checkpoint is also written, outside the store: an append-only file, or
    /// <c>-</c> for standard output (a log shipper). Null keeps checkpoints only in the store.
    /// </summary>
    public string? AuditWitness { get; set; }

    /// <summary>
    /// Refusals of unauthenticated calls audited one by one per client address and minute; beyond
    /// that they are counted and summarised in one event per address. Default 60.
    /// </summary>
    public int AuditedRefusalsPerMinute { get; set; } = 60;

    /// <summary>
    /// Keys that get metric series of their own (<c>metrics_key_patterns</c>, for example
    /// <c>payments/*</c>); every other key is counted under its first name segment, so the number
    /// of series stays bounded however many keys the store holds. None by default.
    /// </summary>
    public IList<string> MetricsKeyPatterns { get; set; } = [];

    /// <summary>Whether requests and crypto operations are counted and <c>/metrics</c> is served (<c>metrics</c>). Default on.</summary>
    public bool Metrics { get; set; } = true;

    /// <summary>How often the summary of refusals beyond <see cref="AuditedRefusalsPerMinute"/> is written. Default 1 minute.</summary>
    public TimeSpan RefusalSummaryInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Most keys in the store (<c>max_keys</c>). Default 1,000,000.</summary>
    public long MaxKeys { get; set; } = 1_000_000;

    /// <summary>Most versions of one key (<c>max_versions_per_key</c>). Default 10,000.</summary>
    public int MaxVersionsPerKey { get; set; } = 10_000;

    /// <summary>The least severe log entries written: trace, debug, information (default: a line per request, start and stop), warning, error, critical or none.</summary>
    public Microsoft.Extensions.Logging.LogLevel LogLevel { get; set; } = Microsoft.Extensions.Logging.LogLevel.Information;

    /// <summary>How the console log is written: <c>plain</c> (default) or <c>json</c>.</summary>
    public string LogFormat { get; set; } = "plain";

    /// <summary>How long a verified token is trusted before it is read again (a revocation on another instance takes effect within this).</summary>
    public TimeSpan TokenCacheTtl { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often the lifecycle scheduler looks for due keys. Default 1 second.</summary>
    public TimeSpan SchedulerInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The lifecycle scheduler's settings: the shortest policy period allowed (1 hour; the dev server allows 1 second), lease and recheck times.</summary>
    public Lifecycle.LifecycleOptions Lifecycle { get; set; } = new();

    /// <summary>
    /// Dual control the server imposes whatever the policies say (<c>require_approval</c>,
    /// <c>approvals_required</c>, <c>approval_expires_seconds</c>); null for none beyond the policies'.
    /// </summary>
    public Rekey.Approvals.ApprovalRule? Approvals { get; set; }

    /// <summary>Most items in one batch request.</summary>
    public int MaxBatchItems { get; set; } = 1000;

    /// <summary>
    /// The paths under <c>/v1/</c> where the Vault-compatible Transit surface answers (Vault's
    /// mount names; <c>transit</c> by default). Empty turns the surface off.
    /// </summary>
    public IReadOnlyList<string> TransitMounts { get; set; } = [Transit.TransitMounts.Default];

    /// <summary>True when <see cref="Store"/> names a PostgreSQL database.</summary>
    public bool IsPostgres => Store is not null && PostgresConnectionString.IsPostgres(Store);

    /// <summary>The store, root key and limits part of these options, for <see cref="Rekey.Hosting.RekeyStack"/>.</summary>
    public Rekey.Hosting.RekeyStackOptions ToStackOptions() => new()
    {
        Store = Store,
        RootKeyFile = RootKeyFile,
        Root = Root,
        PreviousRoots = PreviousRoots,
        RootParamsFile = RootParamsFile,
        RootPassphraseEnv = RootPassphraseEnv,
        Actor = "server",
        MaxKeys = MaxKeys,
        MaxVersionsPerKey = MaxVersionsPerKey,
        AuditWitness = AuditWitness,
        Approvals = Approvals,
    };

    /// <summary>Every problem with these options, in words an operator can act on; empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Store))
        {
            problems.Add("No store: set 'store' (a SQLite file path or a PostgreSQL connection string), REKEY_STORE or --store.");
        }
        else if (IsPostgres)
        {
            try
            {
                PostgresConnectionString.Normalize(Store);
            }
            catch (ArgumentException e)
            {
                problems.Add("The store's connection string is not usable: " + e.Message);
            }
        }
        else if (FilePath(Store) is not { } database || Path.GetDirectoryName(database) is not { } folder || Path.GetFileName(database).Length == 0)
        {
            problems.Add("The store is neither a PostgreSQL connection string nor a usable SQLite file path.");
        }
        else
        {
            // A SQLite store: the database and the folder it lives in are owner-only.
            foreach (var problem in new[] { Storage.PrivateFiles.Problem(folder, "The store folder"), Storage.PrivateFiles.Problem(database, "The store database") })
            {
                if (problem is not null)
                {
                    problems.Add(problem);
                }
            }
        }

        var roots = (RootKeyFile is null ? 0 : 1) + (RootPassphraseEnv is null ? 0 : 1) + (Root is null ? 0 : 1);
        if (roots != 1)
        {
            problems.Add("Exactly one root key source is needed: 'root_key_file' (REKEY_ROOT_KEY_FILE), 'root_passphrase_env' with 'root_params_file', or 'root' (REKEY_ROOT: file:PATH or pkcs11:library=PATH;token=LABEL;key=LABEL;pin-env=VAR).");
        }
        else if (Rekey.Hosting.RekeyStackOptions.RootKindProblem(Root) is { } problem)
        {
            problems.Add(problem);
        }
        else if (PreviousRoots.Select(Rekey.Hosting.RekeyStackOptions.RootKindProblem).FirstOrDefault(p => p is not null) is { } previous)
        {
            problems.Add("In 'previous_roots': " + previous);
        }
        else if (RootKeyFile is not null && !File.Exists(RootKeyFile))
        {
            problems.Add($"The root key file '{RootKeyFile}' does not exist (create one with 'rekey init').");
        }
        else if (RootPassphraseEnv is not null)
        {
            if (RootParamsFile is null || !File.Exists(RootParamsFile))
            {
                problems.Add("A passphrase root key needs 'root_params_file' naming an existing root.params.");
            }

            if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(RootPassphraseEnv)))
            {
                problems.Add($"The environment variable '{RootPassphraseEnv}' named for the root passphrase is empty or unset.");
            }
        }

        if (!TryParseListen(Listen, out _))
        {
            problems.Add($"'{Listen}' is not a listen address like http://127.0.0.1:8200, https://10.0.0.5:8200 or 127.0.0.1:8200.");
        }
        else if (ListensHttps && (TlsCert is null || TlsKey is null))
        {
            problems.Add($"'{Listen}' asks for HTTPS, which needs a PEM certificate and key: set tls_cert and tls_key (REKEY_TLS_CERT, REKEY_TLS_KEY, --tls-cert, --tls-key).");
        }
        else if (!ListensHttps && (TlsCert is not null || TlsKey is not null))
        {
            problems.Add($"A TLS certificate is configured but '{Listen}' is plain HTTP: listen on https://host:port.");
        }
        else if (ListensHttps)
        {
            using var probe = TlsCertificate.TryLoad(TlsCert!, TlsKey!, out var tlsProblem);
            if (probe is null)
            {
                problems.Add(tlsProblem!);
            }
        }

        if (AuditWitness is { } witness && witness != "-" && (FilePath(witness) is not { } witnessPath || !Directory.Exists(Path.GetDirectoryName(witnessPath))))
        {
            problems.Add("The folder of the audit witness file does not exist, or the path is not usable.");
        }

        if (MaxRequestBodyBytes is < 1024 or > 1024L * 1024 * 1024)
        {
            problems.Add("max_request_body_bytes must be between 1 KiB and 1 GiB.");
        }

        if (!ServerLogging.Formats.Contains(LogFormat))
        {
            problems.Add($"log_format must be plain or json, not '{LogFormat}'.");
        }

        if (MaxKeys < 1 || MaxVersionsPerKey < 2)
        {
            problems.Add("max_keys must be at least 1 and max_versions_per_key at least 2.");
        }

        if (AuditedRefusalsPerMinute is < 1 or > 100_000)
        {
            problems.Add("audited_refusals_per_minute must be between 1 and 100000.");
        }

        if (CheckpointEveryEvents < 1)
        {
            problems.Add("checkpoint_every_events must be at least 1.");
        }

        if (CheckpointInterval < TimeSpan.FromSeconds(1))
        {
            problems.Add("checkpoint_interval_seconds must be at least 1.");
        }

        if (TokenCacheTtl < TimeSpan.Zero || TokenCacheTtl > TimeSpan.FromMinutes(1))
        {
            problems.Add("token_cache_seconds must be between 0 and 60.");
        }

        if (MaxBatchItems is < 1 or > 100_000)
        {
            problems.Add("max_batch_items must be between 1 and 100000.");
        }

        problems.AddRange(TransitMounts.Select(Transit.TransitMounts.Problem).OfType<string>());

        return problems;
    }

    // A full path, or null for text that is no path at all (a NUL byte, say): reported, never thrown.
    private static string? FilePath(string text)
    {
        try
        {
            return Path.GetFullPath(text);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return null;
        }
    }

    /// <summary>True when the listen address asks for HTTPS (<c>https://host:port</c>).</summary>
    public bool ListensHttps => Listen.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses a listen address into an endpoint: <c>http://host:port</c>, <c>https://host:port</c> or <c>host:port</c>, with an IP address or <c>localhost</c>.</summary>
    public static bool TryParseListen(string? listen, out IPEndPoint endpoint)
    {
        endpoint = new IPEndPoint(IPAddress.Loopback, 0);

        // 'host:port' without a scheme means plain HTTP, as people type it.
        if (listen is not null && !listen.Contains("://", StringComparison.Ordinal))
        {
            listen = "http://" + listen;
        }

        if (!Uri.TryCreate(listen, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.AbsolutePath != "/"
            || uri.IsDefaultPort && !listen!.Contains(uri.Scheme == Uri.UriSchemeHttps ? ":443" : ":80", StringComparison.Ordinal))
        {
            return false;
        }

        var host = uri.Host.Trim('[', ']');
        IPAddress? address = host == "localhost" ? IPAddress.Loopback : IPAddress.TryParse(host, out var parsed) ? parsed : null;
        if (address is null)
        {
            return false;
        }

        endpoint = new IPEndPoint(address, uri.Port);
        return true;
    }
}
