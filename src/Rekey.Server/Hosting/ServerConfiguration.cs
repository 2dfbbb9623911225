using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Rekey.Server.Hosting;

/// <summary>
/// Reads <see cref="RekeyServerOptions"/> from configuration: a JSON file, then <c>REKEY_*</c>
/// environment variables, then flags, each overriding the one before. Keys are snake_case
/// (<c>store</c>, <c>root_key_file</c>, <c>listen</c>, <c>max_request_body_bytes</c>, ...); the
/// environment variable for a key is <c>REKEY_</c> plus the key in capitals.
/// </summary>
public static class ServerConfiguration
{
    /// <summary>Every key understood, for messages and docs.</summary>
    public static IReadOnlyList<string> Keys { get; } =
    [
        "store", "root_key_file", "root", "previous_roots", "metrics", "metrics_key_patterns", "root_params_file", "root_passphrase_env", "listen", "max_request_body_bytes",
        "checkpoint_every_events", "checkpoint_interval_seconds", "audit_witness", "audited_refusals_per_minute", "log_level", "log_format", "max_keys", "max_versions_per_key", "tls_cert", "tls_key", "token_cache_seconds", "max_batch_items", "transit_mounts",
    ];

    /// <summary>Builds the options from a file (optional), the environment and flags (later wins).</summary>
    /// <exception cref="RekeyServerOptionsException">A value cannot be read, or a key is unknown.</exception>
    public static RekeyServerOptions Load(string? file, IReadOnlyDictionary<string, string?> flags)
    {
        ArgumentNullException.ThrowIfNull(flags);
        var builder = new ConfigurationBuilder();
        if (file is not null)
        {
            if (!File.Exists(file))
            {
                throw new RekeyServerOptionsException([$"The configuration file '{file}' does not exist."]);
            }

            // It may hold a database password.
            if (Storage.PrivateFiles.Problem(Path.GetFullPath(file), "The configuration file") is { } problem)
            {
                throw new RekeyServerOptionsException([problem]);
            }

            builder.AddJsonFile(Path.GetFullPath(file), optional: false);
        }

        builder.AddEnvironmentVariables("REKEY_");
        builder.AddInMemoryCollection(flags.Where(f => f.Value is not null));
        IConfigurationRoot configuration;
        try
        {
            configuration = builder.Build();
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or IOException)
        {
            throw new RekeyServerOptionsException([$"The configuration file '{file}' cannot be read: {e.Message}"]);
        }

        return Bind(configuration, file);
    }

    private static RekeyServerOptions Bind(IConfiguration configuration, string? file)
    {
        var problems = new List<string>();
        if (file is not null)
        {
            // Unknown keys in the file are mistakes (a misspelt 'listen' would silently keep the default).
            var fileKeys = new ConfigurationBuilder().AddJsonFile(Path.GetFullPath(file)).Build().GetChildren().Select(c => c.Key);
            problems.AddRange(fileKeys.Where(k => !Keys.Contains(k, StringComparer.OrdinalIgnoreCase)).Select(k => $"Unknown setting '{k}' in '{file}'; known: {string.Join(", ", Keys)}."));
        }

        var options = new RekeyServerOptions
        {
            Store = configuration["store"],
            RootKeyFile = configuration["root_key_file"],
            Root = configuration["root"],

            // A list: an array in the file, REKEY_PREVIOUS_ROOTS__0, __1... in the environment, --previous-root repeated.
            PreviousRoots = configuration.GetSection("previous_roots").GetChildren().OrderBy(c => int.TryParse(c.Key, out var i) ? i : int.MaxValue).Select(c => c.Value).OfType<string>().ToList(),
            RootParamsFile = configuration["root_params_file"],
            RootPassphraseEnv = configuration["root_passphrase_env"],
            Listen = configuration["listen"] ?? RekeyServerOptions.DefaultListen,
            AuditWitness = configuration["audit_witness"],
            LogFormat = configuration["log_format"] ?? "plain",
            TlsCert = configuration["tls_cert"],
            TlsKey = configuration["tls_key"],
        };
        options.MaxRequestBodyBytes = Number(configuration, "max_request_body_bytes", options.MaxRequestBodyBytes, problems);
        options.CheckpointEveryEvents = (int)Number(configuration, "checkpoint_every_events", options.CheckpointEveryEvents, problems);
        options.CheckpointInterval = TimeSpan.FromSeconds(Number(configuration, "checkpoint_interval_seconds", (long)options.CheckpointInterval.TotalSeconds, problems));
        options.TokenCacheTtl = TimeSpan.FromSeconds(Number(configuration, "token_cache_seconds", (long)options.TokenCacheTtl.TotalSeconds, problems));
        options.MaxBatchItems = (int)Number(configuration, "max_batch_items", options.MaxBatchItems, problems);

        // A list like previous_roots; one name may also be given as plain text (REKEY_TRANSIT_MOUNTS=transit).
        if (configuration.GetSection("transit_mounts") is { } mounts && (mounts.Value is not null || mounts.GetChildren().Any()))
        {
            options.TransitMounts = mounts.Value is { } one
                ? one.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                : mounts.GetChildren().OrderBy(c => int.TryParse(c.Key, out var i) ? i : int.MaxValue).Select(c => c.Value).OfType<string>().ToList();
        }
        if (configuration["log_level"] is { } level)
        {
            if (Enum.TryParse<Microsoft.Extensions.Logging.LogLevel>(level, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !int.TryParse(level, out _))
            {
                options.LogLevel = parsed;
            }
            else
            {
                problems.Add($"log_level must be one of trace, debug, information, warning, error, critical or none, not '{level}'.");
            }
        }

        options.MaxKeys = Number(configuration, "max_keys", options.MaxKeys, problems);
        options.MaxVersionsPerKey = (int)Number(configuration, "max_versions_per_key", options.MaxVersionsPerKey, problems);
        options.AuditedRefusalsPerMinute = (int)Number(configuration, "audited_refusals_per_minute", options.AuditedRefusalsPerMinute, problems);
        var approvalOperations = configuration.GetSection("require_approval").GetChildren().Select(c => c.Value).OfType<string>().ToList();
        if (approvalOperations.Count > 0)
        {
            foreach (var unknown in approvalOperations.Where(o => !Rekey.Approvals.ApprovalOperations.All.Contains(o)))
            {
                problems.Add($"require_approval names '{unknown}', which is none of: {string.Join(", ", Rekey.Approvals.ApprovalOperations.All.Order(StringComparer.Ordinal))}.");
            }

            var required = (int)Number(configuration, "approvals_required", 1, problems);
            if (required is < 1 or > 10)
            {
                problems.Add("approvals_required must be from 1 to 10 (approvers besides the requester).");
            }

            var expires = TimeSpan.FromSeconds(Number(configuration, "approval_expires_seconds", (long)Rekey.Approvals.ApprovalRule.DefaultExpiry.TotalSeconds, problems));
            if (expires < TimeSpan.FromMinutes(1) || expires > TimeSpan.FromDays(30))
            {
                problems.Add("approval_expires_seconds must be from 60 (1 minute) to 2592000 (30 days).");
            }

            options.Approvals = new Rekey.Approvals.ApprovalRule(approvalOperations.ToHashSet(StringComparer.Ordinal), required, expires);
        }

        if (configuration["metrics"] is { } enabled)
        {
            options.Metrics = bool.TryParse(enabled, out var on) ? on : Fail(problems, $"metrics must be true or false, not '{enabled}'.");
        }

        options.MetricsKeyPatterns = configuration.GetSection("metrics_key_patterns").GetChildren().Select(c => c.Value).OfType<string>().ToList();
        foreach (var pattern in options.MetricsKeyPatterns)
        {
            if (!Rekey.Access.KeyPattern.TryParse(pattern, out _))
            {
                problems.Add($"'{pattern}' in metrics_key_patterns is not a key pattern (a key name, optionally ending in /* or *).");
            }
        }
        return problems.Count == 0 ? options : throw new RekeyServerOptionsException(problems);
    }

    private static bool Fail(List<string> problems, string problem)
    {
        problems.Add(problem);
        return true;
    }

    private static long Number(IConfiguration configuration, string key, long fallback, List<string> problems)
    {
        var text = configuration[key];
        if (text is null)
        {
            return fallback;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value <= int.MaxValue)
        {
            return value;
        }

        problems.Add($"'{key}' must be a whole number, not '{text}'.");
        return fallback;
    }
}
