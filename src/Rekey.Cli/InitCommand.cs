using System.CommandLine;

namespace Rekey.Cli;

/// <summary><c>rekey init</c>: creates a local store with its root key.</summary>
internal static class InitCommand
{
    public static Command Build(GlobalOptions globals)
    {
        var passphraseEnv = new Option<string?>("--passphrase-env")
        {
            Description = "Derive the root key from a passphrase read from this environment variable (PBKDF2-SHA256, 600,000 iterations) instead of a random key file.",
        };
        var store = new Option<string?>("--store")
        {
            Description = "Keep keys in PostgreSQL instead of a SQLite file: 'Host=db;Database=rekey;Username=rekey' or 'postgres://rekey@db/rekey'. The role needs rights to create (or own) the 'rekey' schema.",
        };
        var rootSpec = new Option<string?>("--root")
        {
            Description = "Root the store in a PKCS#11 token instead: pkcs11:library=PATH;token=LABEL;key=LABEL;pin-env=VAR (make the key first with rekey root create-key; the PIN from the environment, or pin-file=PATH); or in AWS KMS: awskms:key=ID|ARN|alias/NAME[;region=R][;endpoint=URL] (credentials from the AWS chain).",
        };
        var command = new Command("init", "Create a store: database, root key and configuration.") { passphraseEnv, store, rootSpec };
        command.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            var dir = parse.GetValue(globals.Dir)!;
            var home = StoreHome.Initialize(dir, parse.GetValue(passphraseEnv), parse.GetValue(store), parse.GetValue(rootSpec), out var root);
            try
            {
                // Opening the store creates the database and its schema.
                await (await home.OpenServiceAsync(root, ct).ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
            }
            catch
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                home.Abandon();
                throw;
            }


            var rootDescription = home.Config.Root switch
            {
                "key-file" => $"root key file {Path.Combine(home.Directory, StoreHome.KeyFile)} (mode 0600; back it up: without it no key can be used)",
                "pkcs11" => $"root key in the PKCS#11 token ({Providers.Pkcs11.Pkcs11RootOptions.Parse(home.Config.RootSpec!).Token}); it never leaves the token",
                "setting" => $"root key in AWS KMS ({Providers.AwsKms.AwsKmsRootOptions.Parse(home.Config.RootSpec!).KeyId}); it never leaves KMS",
                _ => $"root key derived from the passphrase in ${home.Config.PassphraseEnv}",
            };
            var database = home.Config.Store is { } connectionString
                ? "PostgreSQL " + Rekey.Storage.Postgres.PostgresConnectionString.Redact(connectionString)
                : Path.Combine(home.Directory, StoreHome.DatabaseFile);
            globals.OutputFor(parse).Message(
                $"Initialized a Rekey store in {home.Directory}\n  database {database}\n  {rootDescription}",
                new { directory = home.Directory, root = home.Config.Root, passphraseEnv = home.Config.PassphraseEnv, database });
            return ExitCodes.Ok;
        }));
        return command;
    }
}
