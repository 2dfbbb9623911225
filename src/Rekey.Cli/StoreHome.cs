using System.Text.Json;
using System.Text.Json.Serialization;
using Rekey.Errors;
using Rekey.Hosting;
using Rekey.Root;
using Rekey.Storage;
using Rekey.Storage.Postgres;
using Rekey.Storage.Sqlite;

namespace Rekey.Cli;

/// <summary>
/// A store's home folder: <c>rekey.json</c> (which store and root key to use), <c>rekey.db</c>
/// unless the store is PostgreSQL, and <c>root.key</c> or <c>root.params</c>. Created by
/// <c>rekey init</c>, owner-only (0700; rekey.json 0600, as it may hold a database password).
/// </summary>
internal sealed class StoreHome
{
    public const string ConfigFile = "rekey.json";
    public const string DatabaseFile = "rekey.db";
    public const string KeyFile = "root.key";
    public const string ParamsFile = "root.params";

    private StoreHome(string directory, HomeConfig config)
    {
        Directory = directory;
        Config = config;
    }

    public string Directory { get; }

    public HomeConfig Config { get; }

    public static StoreHome Initialize(string directory, string? passphraseEnv, string? store, string? rootSpec, out IRootKeyProvider root)
    {
        if (rootSpec is not null && passphraseEnv is not null)
        {
            throw new UsageException("Give --root or --passphrase-env, not both: the root key is in the token, or derived from the passphrase.");
        }

        if (rootSpec is not null && !rootSpec.StartsWith("pkcs11:", StringComparison.Ordinal) && !rootSpec.StartsWith("awskms:", StringComparison.Ordinal))
        {
            throw new UsageException("rekey init --root takes a PKCS#11 root (pkcs11:library=PATH;token=LABEL;key=LABEL;pin-env=VAR) or an AWS KMS root (awskms:key=ID|ARN|alias/NAME[;region=R]); without --root it makes a key file.");
        }

        if (store is not null)
        {
            // Refuse a bad connection string before anything is written.
            store = PostgresConnectionString.Normalize(store);
        }

        var full = Path.GetFullPath(directory);
        if (File.Exists(Path.Combine(full, ConfigFile)))
        {
            throw new RekeyException(RekeyErrorCode.Conflict, $"A Rekey store already exists in '{full}'.");
        }

        // Never adopt (or, if init fails, delete) files that were there before: a database or root
        // key without its rekey.json is somebody's data.
        foreach (var name in new[] { KeyFile, ParamsFile, DatabaseFile, DatabaseFile + "-wal" })
        {
            if (File.Exists(Path.Combine(full, name)))
            {
                throw new RekeyException(RekeyErrorCode.Conflict, $"'{Path.Combine(full, name)}' already exists; refusing to initialize over it. Move it away or pick another --dir.");
            }
        }

        // A passphrase is checked before anything is written.
        string? passphrase = null;
        if (passphraseEnv is not null)
        {
            passphrase = ReadPassphrase(passphraseEnv);
            if (passphrase.Length < 12)
            {
                throw new UsageException($"The passphrase in ${passphraseEnv} is {passphrase.Length} characters long; a root key passphrase needs at least 12. Choose a longer one.");
            }
        }

        // Owner-only, also when the folder was there before (an empty 0755 folder, say).
        try
        {
            PrivateFiles.CreateFolder(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RekeyStoreException($"The store folder '{full}' cannot be created ({e.Message.TrimEnd('.')}); pick a --dir (or REKEY_DIR) in a folder you can write to.", isTransient: false, e);
        }

        HomeConfig config;
        if (rootSpec is not null)
        {
            // The key must exist already (rekey root create-key, or in KMS); nothing secret is written here.
            root = RekeyStack.OpenRootAsync(rootSpec).GetAwaiter().GetResult();
            config = new HomeConfig(rootSpec.StartsWith("pkcs11:", StringComparison.Ordinal) ? "pkcs11" : "setting", null, store, null, rootSpec);
        }
        else if (passphraseEnv is null)
        {
            root = LocalRootKeyProvider.CreateKeyFile(Path.Combine(full, KeyFile));
            config = new HomeConfig("key-file", null, store);
        }
        else
        {
            root = LocalRootKeyProvider.CreateFromPassphrase(Path.Combine(full, ParamsFile), passphrase!);
            config = new HomeConfig("passphrase", passphraseEnv, store);
        }

        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var file = new StreamWriter(Path.Combine(full, ConfigFile), System.Text.Encoding.UTF8, options))
        {
            file.Write(JsonSerializer.Serialize(config, HomeConfigJson.Default.HomeConfig));
        }

        return new StoreHome(full, config);
    }

    public static StoreHome Open(string directory)
    {
        var full = Path.GetFullPath(directory);
        var configPath = Path.Combine(full, ConfigFile);
        if (!File.Exists(configPath))
        {
            throw new RekeyException(RekeyErrorCode.StoreNotFound, $"No Rekey store in '{full}': create one with 'rekey init --dir {directory}', point REKEY_DIR at an existing one, or set REKEY_ADDR to use a server.");
        }

        PrivateFiles.EnsurePrivate(full, "The store folder");
        PrivateFiles.EnsurePrivate(configPath, "The store configuration");
        HomeConfig? config;
        try
        {
            config = JsonSerializer.Deserialize(File.ReadAllText(configPath), HomeConfigJson.Default.HomeConfig);
        }
        catch (JsonException e)
        {
            throw new RekeyStoreException($"'{configPath}' is not valid: {e.Message}", isTransient: false, e);
        }

        return config is { Root: "key-file" or "passphrase" } or { Root: "pkcs11" or "setting", RootSpec: not null }
            ? new StoreHome(full, config)
            : throw new RekeyStoreException($"'{configPath}' names no known root key kind.", isTransient: false);
    }

    public Task<RekeyStack> OpenServiceAsync(IRootKeyProvider? root, CancellationToken cancellationToken) =>
        RekeyStack.OpenAsync(StackOptions(), TimeProvider.System, root, cancellationToken: cancellationToken);

    /// <summary>This folder's store and root key, for a one-shot command (other instances' changes are not followed).</summary>
    public RekeyStackOptions StackOptions()
    {
        var options = new RekeyStackOptions
        {
            Store = Config.Store ?? Path.Combine(Directory, DatabaseFile),
            Actor = ActorName(),
            AuditWitness = AuditWitnessPath(),
            FollowChanges = false,
        };
        if (Config.Root == "key-file")
        {
            options.RootKeyFile = Path.Combine(Directory, KeyFile);
        }
        else if (Config.Root is "pkcs11" or "setting")
        {
            options.Root = Config.RootSpec;
        }
        else
        {
            options.RootParamsFile = Path.Combine(Directory, ParamsFile);
            options.RootPassphraseEnv = Config.PassphraseEnv;
        }

        options.PreviousRoots = [.. Config.PreviousRoots ?? []];

        return options;
    }

    /// <summary>
    /// Where checkpoints are witnessed: <c>REKEY_AUDIT_WITNESS</c> when set, else rekey.json's
    /// <c>auditWitness</c> (relative paths from this folder), else nowhere.
    /// </summary>
    public string? AuditWitnessPath()
    {
        var path = Environment.GetEnvironmentVariable("REKEY_AUDIT_WITNESS") is { Length: > 0 } fromEnvironment ? fromEnvironment : Config.AuditWitness;
        return path is null or "-" ? path : Path.GetFullPath(path, Directory);
    }

    /// <summary>Points server options at this folder's store and root key.</summary>
    public void ConfigureServer(Rekey.Server.Hosting.RekeyServerOptions options)
    {
        options.AuditWitness ??= AuditWitnessPath();
        options.Store = Config.Store ?? Path.Combine(Directory, DatabaseFile);
        if (Config.Root == "key-file")
        {
            options.RootKeyFile = Path.Combine(Directory, KeyFile);
        }
        else if (Config.Root is "pkcs11" or "setting")
        {
            options.Root = Config.RootSpec;
        }
        else
        {
            options.RootParamsFile = Path.Combine(Directory, ParamsFile);
            options.RootPassphraseEnv = Config.PassphraseEnv;
        }

        options.PreviousRoots = [.. Config.PreviousRoots ?? []];
    }

    /// <summary>This folder's root as one setting (<c>file:</c>, <c>passphrase:</c>, <c>pkcs11:</c>...), as a migration names it.</summary>
    public string RootSetting() => Config.Root switch
    {
        "key-file" => "file:" + Path.Combine(Directory, KeyFile),
        "passphrase" => RekeyStack.PassphraseSetting(Path.Combine(Directory, ParamsFile), Config.PassphraseEnv!),
        _ => Config.RootSpec!,
    };

    /// <summary>
    /// Points rekey.json at <paramref name="root"/> with <paramref name="previous"/> still read,
    /// replacing the file in one rename so a command killed here leaves the old or the new one.
    /// </summary>
    public StoreHome WithRoots(string root, IReadOnlyList<string> previous)
    {
        var config = Config with { Root = "setting", RootSpec = root, PassphraseEnv = null, PreviousRoots = previous.Count == 0 ? null : previous };
        var path = Path.Combine(Directory, ConfigFile);
        var temporary = path + ".new";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var file = new FileStream(temporary, options))
        {
            file.Write(JsonSerializer.SerializeToUtf8Bytes(config, HomeConfigJson.Default.HomeConfig));
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
        return new StoreHome(Directory, config);
    }

    /// <summary>Removes what <see cref="Initialize"/> wrote, after the store could not be created.</summary>
    public void Abandon()
    {
        foreach (var name in new[] { ConfigFile, KeyFile, ParamsFile, DatabaseFile, DatabaseFile + "-wal", DatabaseFile + "-shm" })
        {
            File.Delete(Path.Combine(Directory, name));
        }

        if (!System.IO.Directory.EnumerateFileSystemEntries(Directory).Any())
        {
            System.IO.Directory.Delete(Directory);
        }
    }

    private static string ReadPassphrase(string variable)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        return string.IsNullOrEmpty(value)
            ? throw new RekeyException(RekeyErrorCode.RootKeyUnavailable, $"The root key passphrase is read from the environment variable {variable}, which is not set.")
            : value;
    }

    // The audit log records who ran the command; on a local store that is the OS user.
    public static string ActorName() => "local:" + Environment.UserName;
}

/// <summary>The contents of rekey.json.</summary>
/// <param name="Root"><c>key-file</c>, <c>passphrase</c>, <c>pkcs11</c>, or <c>setting</c> (any root as one setting, as a root migration writes it).</param>
/// <param name="PassphraseEnv">For <c>passphrase</c>: the environment variable holding it.</param>
/// <param name="Store">A PostgreSQL connection string; null for the SQLite file in the folder.</param>
/// <param name="AuditWitness">A file outside the store where signed checkpoints are also appended, or <c>-</c> for standard output.</param>
/// <param name="RootSpec">For <c>pkcs11</c> and <c>setting</c>: the root setting (for a token: library, token, key label, where the PIN is; never the PIN).</param>
/// <param name="PreviousRoots">Roots that wrapped material before this one, as settings, until a migration has moved it all.</param>
internal sealed record HomeConfig(string Root, string? PassphraseEnv, string? Store = null, string? AuditWitness = null, string? RootSpec = null, IReadOnlyList<string>? PreviousRoots = null);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(HomeConfig))]
internal sealed partial class HomeConfigJson : JsonSerializerContext;
