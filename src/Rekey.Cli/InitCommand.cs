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
        var command = new Command("init", "Create a local store: database, root key and configuration.") { passphraseEnv };
        command.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            var dir = parse.GetValue(globals.Dir)!;
            var home = StoreHome.Initialize(dir, parse.GetValue(passphraseEnv), out var root);
            // Opening the store creates the database and its schema.
            await (await home.OpenServiceAsync(root, ct).ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);

            var rootDescription = home.Config.Root == "key-file"
                ? $"root key file {Path.Combine(home.Directory, StoreHome.KeyFile)} (mode 0600; back it up: without it no key can be used)"
                : $"root key derived from the passphrase in ${home.Config.PassphraseEnv}";
            globals.OutputFor(parse).Message(
                $"Initialized a Rekey store in {home.Directory}\n  database {Path.Combine(home.Directory, StoreHome.DatabaseFile)}\n  {rootDescription}",
                new { directory = home.Directory, root = home.Config.Root, passphraseEnv = home.Config.PassphraseEnv });
            return ExitCodes.Ok;
        }));
        return command;
    }
}
