namespace Rekey.Hosting;

/// <summary>
/// What an in-process Rekey needs: where its store and root key are, who it acts as, and its
/// limits. <c>RekeyStack.OpenAsync</c> builds the store, root key provider and service
/// from these, the same way for <c>rekey server</c>, the CLI and <c>AddRekey</c>.
/// </summary>
public class RekeyStackOptions
{
    /// <summary>The store: a SQLite file path, or a PostgreSQL connection string (keywords or <c>postgres://</c> URL).</summary>
    public string? Store { get; set; }

    /// <summary>The root key file (created by <c>rekey init</c>); alternative to <see cref="RootParamsFile"/> with <see cref="RootPassphraseEnv"/>.</summary>
    public string? RootKeyFile { get; set; }

    /// <summary>The root key's parameters file, for a passphrase-derived root key.</summary>
    public string? RootParamsFile { get; set; }

    /// <summary>The environment variable holding the root passphrase (never the passphrase itself).</summary>
    public string? RootPassphraseEnv { get; set; }

    /// <summary>
    /// The root as one setting: <c>file:PATH</c> (a key file),
    /// <c>pkcs11:library=PATH;token=LABEL;key=LABEL;pin-env=VAR</c> (a key in an HSM; <c>pin-file=PATH</c>
    /// instead of <c>pin-env</c>), or <c>awskms:key=ID|ARN|alias/NAME[;region=R][;endpoint=URL]</c> (a key in
    /// AWS KMS; credentials from the AWS chain). An alternative to <see cref="RootKeyFile"/> and <see cref="RootParamsFile"/>.
    /// </summary>
    public string? Root { get; set; }

    /// <summary>
    /// Roots that wrapped material before the current one, in the same form as <see cref="Root"/>:
    /// they read what they wrapped, and <c>rekey root migrate</c> moves it under the current root.
    /// Drop one once <c>rekey root status</c> shows it wraps nothing.
    /// </summary>
    public IList<string> PreviousRoots { get; set; } = [];

    /// <summary>The actor named in audit events when a change gives none. Default <c>app</c>.</summary>
    public string Actor { get; set; } = "app";

    /// <summary>A file outside the store where signed checkpoints are also appended, or <c>-</c> for standard output; null for none.</summary>
    public string? AuditWitness { get; set; }

    /// <summary>Most keys in the store. Default 1,000,000.</summary>
    public long MaxKeys { get; set; } = 1_000_000;

    /// <summary>Most versions of one key. Default 10,000.</summary>
    public int MaxVersionsPerKey { get; set; } = 10_000;

    /// <summary>
    /// Dual control the configuration imposes, added to what the policies ask: operations that
    /// need approval whatever any policy says, which no API call can loosen. Null for none.
    /// </summary>
    public Approvals.ApprovalRule? Approvals { get; set; }

    /// <summary>
    /// Follow changes other processes make to the store (PostgreSQL LISTEN/NOTIFY, SQLite
    /// polling), so a rotation elsewhere is seen at once. Default on; a one-shot command turns it off.
    /// </summary>
    public bool FollowChanges { get; set; } = true;

    /// <summary>Whether <see cref="Store"/> names a PostgreSQL database rather than a SQLite file.</summary>
    public bool IsPostgres => Store is not null && Rekey.Storage.Postgres.PostgresConnectionString.IsPostgres(Store);

    /// <summary>Why <paramref name="root"/> names no kind of root this build opens, or null when it does (or is unset).</summary>
    public static string? RootKindProblem(string? root)
    {
        if (root is null || root.StartsWith("file:", StringComparison.Ordinal) || root.StartsWith("passphrase:", StringComparison.Ordinal) || root.StartsWith("pkcs11:", StringComparison.Ordinal) || root.StartsWith("awskms:", StringComparison.Ordinal))
        {
            return null;
        }

        // Only a scheme is named back: a value without one could be a secret pasted in by mistake.
        var colon = root.IndexOf(':', StringComparison.Ordinal);
        var kind = colon > 0 ? $"The root kind '{root[..colon]}'" : "The root setting";
        return $"{kind} is not a kind this build knows: use file:PATH, passphrase:params=PATH;env=VAR, pkcs11:library=PATH;token=LABEL;key=LABEL;pin-env=VAR or awskms:key=ID|ARN|alias/NAME[;region=R].";
    }

    /// <summary>Every problem with the store and root settings, in words an operator can act on; empty when usable. Whether the root key opens is found out by opening it.</summary>
    public virtual IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Store))
        {
            problems.Add("No store is set: a SQLite file path or a PostgreSQL connection string.");
        }
        else if (IsPostgres)
        {
            try
            {
                Rekey.Storage.Postgres.PostgresConnectionString.Normalize(Store);
            }
            catch (ArgumentException e)
            {
                problems.Add(e.Message);
            }
        }

        if ((RootKeyFile is null ? 0 : 1) + (RootParamsFile is null ? 0 : 1) + (Root is null ? 0 : 1) != 1)
        {
            problems.Add("Set exactly one root key: a key file, a parameters file with the environment variable holding its passphrase, or a root (file:PATH or pkcs11:...).");
        }
        else if (RootKindProblem(Root) is { } problem)
        {
            problems.Add(problem);
        }
        else if (RootParamsFile is not null && string.IsNullOrEmpty(RootPassphraseEnv))
        {
            problems.Add("A passphrase root key needs the name of the environment variable that holds the passphrase.");
        }

        foreach (var previous in PreviousRoots)
        {
            if (RootKindProblem(previous) is { } kind)
            {
                problems.Add("A previous root: " + kind);
            }
        }

        if (MaxKeys < 1)
        {
            problems.Add("The most keys must be at least 1.");
        }

        if (MaxVersionsPerKey < 1)
        {
            problems.Add("The most versions per key must be at least 1.");
        }

        return problems;
    }
}
