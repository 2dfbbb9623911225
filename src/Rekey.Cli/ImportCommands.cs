using System.CommandLine;
using System.Globalization;

namespace Rekey.Cli;

/// <summary><c>rekey key import-token</c> and <c>rekey key import</c>: bring key material generated elsewhere in as a new version.</summary>
internal static class ImportCommands
{
    public static Command ImportToken(GlobalOptions globals)
    {
        var name = KeyCommands.NameArgument();
        var validFor = new Option<string?>("--valid-for") { Description = "How long the token is good for (default 24h, at most 7d)." };
        var publicKeyOut = new Option<string?>("--public-key-out") { Description = "Write the PEM public key to this file (default: print it)." };
        var reason = KeyCommands.ReasonOption();
        var command = new Command("import-token", "Get a one-time RSA-4096 public key and token for importing key material into KEY: wrap the 32-byte material under it with RSA-OAEP-SHA256 (openssl pkeyutl -encrypt -pubin -inkey PUB -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256), then run 'rekey key import'.") { name, validFor, publicKeyOut, reason };
        command.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            TimeSpan? lifetime = null;
            if (parse.GetValue(validFor) is { } text)
            {
                lifetime = Durations.TryParse(text, out var d) ? d : throw new UsageException($"--valid-for '{text}' is not a duration like 30m, 24h or 7d.");
            }

            var keyName = CliApp.ParseKeyName(parse.GetValue(name)!);
            var issued = await service.CreateImportTokenAsync(keyName, lifetime, KeyCommands.Change(parse, reason), ct).ConfigureAwait(false);
            var file = parse.GetValue(publicKeyOut);
            if (file is not null)
            {
                await File.WriteAllTextAsync(file, issued.PublicKeyPem, ct).ConfigureAwait(false);
            }

            var expires = issued.ExpiresAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            globals.OutputFor(parse).Message(
                $"Import token: {issued.Token}\nAlgorithm: {issued.Algorithm} (RSA-4096)\nExpires: {expires}\n" + (file is null ? issued.PublicKeyPem : $"Public key written to {file}"),
                new { key = issued.Key.Value, token = issued.Token, algorithm = issued.Algorithm, public_key = issued.PublicKeyPem, expires_at = issued.ExpiresAt });
            return ExitCodes.Ok;
        }, ct)));
        return command;
    }

    public static Command Import(GlobalOptions globals)
    {
        var name = KeyCommands.NameArgument();
        var token = new Option<string>("--token") { Description = "The import token from 'rekey key import-token'.", Required = true };
        var wrapped = new Option<string>("--wrapped") { Description = "A file holding the wrapped material (512 bytes, binary), or - for standard input.", Required = true };
        var pending = new Option<bool>("--pending") { Description = "Stage the imported version as Pending; activate it later with 'rekey key activate'." };
        var reason = KeyCommands.ReasonOption();
        var command = new Command("import", "Add a version of KEY whose material was generated elsewhere and wrapped under an import token's public key; the version is marked imported in listings and audit. The token is then spent.") { name, token, wrapped, pending, reason };
        command.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            var path = parse.GetValue(wrapped)!;
            byte[] bytes;
            if (path == "-")
            {
                using var buffer = new MemoryStream();
                await Console.OpenStandardInput().CopyToAsync(buffer, ct).ConfigureAwait(false);
                bytes = buffer.ToArray();
            }
            else
            {
                bytes = File.Exists(path) ? await File.ReadAllBytesAsync(path, ct).ConfigureAwait(false) : throw new UsageException($"--wrapped '{path}' does not exist.");
            }

            var keyName = CliApp.ParseKeyName(parse.GetValue(name)!);
            globals.OutputFor(parse).Version(await service.ImportAsync(keyName, parse.GetValue(token)!, bytes, !parse.GetValue(pending), KeyCommands.Change(parse, reason), ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }, ct)));
        return command;
    }
}
