using System.CommandLine;
using Rekey.Providers.Pkcs11;

namespace Rekey.Cli;

/// <summary><c>rekey root create-key</c>: makes the root key where the root setting says it lives.</summary>
internal static class RootCommands
{
    public static Command Build(GlobalOptions globals)
    {
        var root = new Command("root", "The root key that wraps every key version's material.");
        var spec = new Option<string>("--root") { Description = "Where the root key lives: pkcs11:library=PATH;token=LABEL;key=LABEL;pin-env=VAR (the PIN from the environment, or pin-file=PATH).", Required = true };
        var create = new Command("create-key", "Create the root key in a PKCS#11 token: AES-256, generated inside the token, sensitive and never extractable. Refused when a key with the label exists.") { spec };
        create.SetAction((parse, ct) => CliApp.Guard(globals, () =>
        {
            var value = parse.GetValue(spec)!;
            if (!value.StartsWith("pkcs11:", StringComparison.Ordinal))
            {
                throw new UsageException("create-key makes keys in a PKCS#11 token (--root pkcs11:...); a key file is made by rekey init.");
            }

            var options = Pkcs11RootOptions.Parse(value);
            Pkcs11RootKeyProvider.CreateKey(options);
            globals.OutputFor(parse).Message($"Created the AES-256 root key '{options.KeyLabel}' in the PKCS#11 token '{options.Token}'.", new { token = options.Token, key = options.KeyLabel });
            return Task.FromResult(ExitCodes.Ok);
        }));
        root.Subcommands.Add(create);
        return root;
    }
}
