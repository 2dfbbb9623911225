using System.CommandLine;
using System.Text;
using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Keys;

namespace Rekey.Cli;

/// <summary><c>rekey encrypt|decrypt|rewrap</c>: standard input to standard output.</summary>
internal static class CryptoCommands
{
    // One envelope holds at most 64 MiB; its text form is about 4/3 of that.
    private const int MaxInput = 90 * 1024 * 1024;

    public static IEnumerable<Command> Build(GlobalOptions globals)
    {
        yield return Encrypt(globals);
        yield return Decrypt(globals);
        yield return Rewrap(globals);
    }

    private static Option<string> ContextOption() => new("--context")
    {
        Description = "What the data belongs to, bound into the ciphertext (for example 'tenant=h42;table=patients;id=17'). Decrypt needs the same.",
        Required = true,
    };

    private static Command Encrypt(GlobalOptions globals)
    {
        var key = new Option<string>("--key") { Description = "The key to encrypt under (its Active version).", Required = true };
        var context = ContextOption();
        var binary = new Option<bool>("--binary") { Description = "Write the envelope's bytes instead of its text form (rekey:v<N>:...)." };
        var command = new Command("encrypt", "Encrypt standard input; write the envelope to standard output.") { key, context, binary };
        command.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            var name = CliApp.ParseKeyName(parse.GetValue(key)!);
            var ctx = EncryptionContext.From(parse.GetValue(context)!);
            var plaintext = await ReadStdinAsync(ct).ConfigureAwait(false);
            if (parse.GetValue(binary) && globals.JsonErrors)
            {
                throw new UsageException("--binary writes the envelope's bytes; it does not go with --format json.");
            }

            var envelope = await service.EncryptAsync(name, plaintext, ctx, ct).ConfigureAwait(false);
            await WriteEnvelopeAsync(globals, parse, envelope, parse.GetValue(binary)).ConfigureAwait(false);
            return ExitCodes.Ok;
        }, ct)));
        return command;
    }

    private static Command Decrypt(GlobalOptions globals)
    {
        var key = new Option<string?>("--key") { Description = "The key the ciphertext must be under (refused otherwise); without it, the key the envelope names." };
        var context = ContextOption();
        var command = new Command("decrypt", "Decrypt an envelope (text or bytes) from standard input; write the plaintext to standard output.") { key, context };
        command.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            var ctx = EncryptionContext.From(parse.GetValue(context)!);
            var (envelope, _, under) = await ReadEnvelopeAsync(parse.GetValue(key), ct).ConfigureAwait(false);
            var plaintext = await service.DecryptAsync(under, envelope, ctx, ct).ConfigureAwait(false);
            try
            {
                if (globals.OutputFor(parse).Format == OutputFormat.Json)
                {
                    // The API's shape: the plaintext in base64, with the version that decrypted it.
                    globals.OutputFor(parse).Value(new { plaintext = Convert.ToBase64String(plaintext), version = EnvelopeReader.ReadVersion(envelope) });
                    return ExitCodes.Ok;
                }

                await using var stdout = Console.OpenStandardOutput();
                await stdout.WriteAsync(plaintext, ct).ConfigureAwait(false);
            }
            finally
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(plaintext);
            }

            return ExitCodes.Ok;
        }, ct)));
        return command;
    }

    private static Command Rewrap(GlobalOptions globals)
    {
        var key = new Option<string?>("--key") { Description = "The key the ciphertext must be under (refused otherwise); without it, the key the envelope names." };
        var command = new Command("rewrap", "Re-wrap an envelope from standard input under its key's Active version, without decrypting the data (no context needed). Writes the same form it read.") { key };
        command.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            var (envelope, wasText, under) = await ReadEnvelopeAsync(parse.GetValue(key), ct).ConfigureAwait(false);
            var rewrapped = await service.RewrapAsync(under, envelope, ct).ConfigureAwait(false);
            await WriteEnvelopeAsync(globals, parse, rewrapped, binary: !wasText && !globals.JsonErrors).ConfigureAwait(false);
            return ExitCodes.Ok;
        }, ct)));
        return command;
    }

    // The key to use: --key when given (an envelope under another is then refused), else the
    // envelope's own, since the person at the terminal handed this envelope in on purpose.
    private static async Task<(byte[] Envelope, bool WasText, KeyName Key)> ReadEnvelopeAsync(string? expectedKey, CancellationToken cancellationToken)
    {
        var input = await ReadStdinAsync(cancellationToken).ConfigureAwait(false);
        var prefix = Encoding.ASCII.GetBytes(EnvelopeText.Prefix);
        var wasText = input.AsSpan().TrimStart(" \t\r\n"u8).StartsWith(prefix);
        // A line read from stdin ends with a newline (and may be indented): that is framing, not the value.
        var envelope = wasText ? EnvelopeText.Decode(Encoding.ASCII.GetString(input).Trim()) : input;
        var key = expectedKey is not null ? CliApp.ParseKeyName(expectedKey) : EnvelopeReader.ReadHeader(envelope).Key;
        return (envelope, wasText, key);
    }

    private static async Task WriteEnvelopeAsync(GlobalOptions globals, ParseResult parse, byte[] envelope, bool binary)
    {
        var output = globals.OutputFor(parse);
        if (output.Format == OutputFormat.Json)
        {
            var header = EnvelopeReader.ReadHeader(envelope);
            output.Value(new { ciphertext = EnvelopeText.Encode(envelope), key = header.Key.Value, version = header.Version });
            return;
        }

        if (binary)
        {
            await using var stdout = Console.OpenStandardOutput();
            await stdout.WriteAsync(envelope).ConfigureAwait(false);
        }
        else
        {
            await globals.Stdout.WriteLineAsync(EnvelopeText.Encode(envelope)).ConfigureAwait(false);
            await globals.Stdout.FlushAsync().ConfigureAwait(false);
        }
    }

    private static async Task<byte[]> ReadStdinAsync(CancellationToken cancellationToken)
    {
        await using var stdin = Console.OpenStandardInput();
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stdin.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxInput)
            {
                throw new UsageException("Standard input is larger than one envelope can hold (64 MiB of plaintext).");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
