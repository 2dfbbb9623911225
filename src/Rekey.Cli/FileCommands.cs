using System.CommandLine;
using System.Globalization;
using Rekey.Envelope;
using Rekey.Files;

namespace Rekey.Cli;

/// <summary>
/// <c>rekey file encrypt|decrypt|rewrap|inspect</c>: encrypted files and pipes of any size. Through
/// a server (REKEY_ADDR) only the data key's envelope travels: the data is encrypted and decrypted here.
/// </summary>
internal static class FileCommands
{
    // A whole batch of segments per read and write: fewer system calls on pipes.
    private const int CopyBuffer = 1 << 20;

    public static Command Build(GlobalOptions globals)
    {
        var file = new Command("file", "Encrypt and decrypt files and pipes of any size (backups, dumps, large objects); re-wrap them by rewriting the header only.");
        file.Subcommands.Add(Encrypt(globals));
        file.Subcommands.Add(Decrypt(globals));
        file.Subcommands.Add(Rewrap(globals));
        file.Subcommands.Add(Inspect(globals));
        return file;
    }

    private static Option<string> ContextOption() => new("--context")
    {
        Description = "The encryption context, as given again to decrypt (for example 'db=app').",
        Required = true,
    };

    private static Command Encrypt(GlobalOptions globals)
    {
        var key = new Option<string>("--key") { Description = "The key to encrypt under (its Active version wraps the file's data key).", Required = true };
        var context = ContextOption();
        var input = new Option<string?>("--in") { Description = "The file to encrypt (default: standard input)." };
        var output = new Option<string?>("--out") { Description = "Where to write the encrypted file (default: standard output); written beside it and renamed when complete." };
        var command = new Command("encrypt", "Encrypt standard input (or --in) into an encrypted file on standard output (or --out), in 64 KiB segments: any size, constant memory.") { key, context, input, output };
        command.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            var name = CliApp.ParseKeyName(parse.GetValue(key)!);
            var ctx = EncryptionContext.From(parse.GetValue(context)!);
            await using var source = OpenInput(parse.GetValue(input));
            await WriteAtomicallyAsync(parse.GetValue(output), async target =>
            {
                await using var encryptor = await RekeyFileStreams.CreateEncryptorAsync(target, service, name, ctx, leaveOpen: true, ct).ConfigureAwait(false);
                await source.CopyToAsync(encryptor, CopyBuffer, ct).ConfigureAwait(false);
                await encryptor.FinishAsync(ct).ConfigureAwait(false);
            }).ConfigureAwait(false);
            return ExitCodes.Ok;
        }, ct)));
        return command;
    }

    private static Command Decrypt(GlobalOptions globals)
    {
        var key = new Option<string?>("--key") { Description = "The key the file must be under (refused otherwise); without it, the key its header names." };
        var context = ContextOption();
        var input = new Option<string?>("--in") { Description = "The encrypted file (default: standard input)." };
        var output = new Option<string?>("--out") { Description = "Where to write the plaintext (default: standard output); with --out, nothing is left there unless the whole file decrypted." };
        var command = new Command("decrypt", "Decrypt an encrypted file from standard input (or --in) to standard output (or --out). A damaged or tampered file stops with exit 6, having written nothing of the damaged segment or after it.") { key, context, input, output };
        command.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            var ctx = EncryptionContext.From(parse.GetValue(context)!);
            var expected = parse.GetValue(key) is { } k ? CliApp.ParseKeyName(k) : (Keys.KeyName?)null;
            await using var source = OpenInput(parse.GetValue(input));
            await using var decryptor = await RekeyFileStreams.OpenDecryptorAsync(source, service, ctx, expected, leaveOpen: true, ct).ConfigureAwait(false);
            await WriteAtomicallyAsync(parse.GetValue(output), target => decryptor.CopyToAsync(target, CopyBuffer, ct)).ConfigureAwait(false);
            return ExitCodes.Ok;
        }, ct)));
        return command;
    }

    private static Command Rewrap(GlobalOptions globals)
    {
        var paths = new Argument<string[]>("files") { Description = "Encrypted files to move to their key's Active version.", Arity = ArgumentArity.OneOrMore };
        var command = new Command("rewrap", "Move encrypted files to their key's Active version by rewriting the header only: the same time for 1 MiB or 1 TiB, no context needed, crash-safe.") { paths };
        command.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            var output = globals.OutputFor(parse);
            var moved = new List<object>();
            foreach (var path in parse.GetValue(paths)!)
            {
                var (from, to) = await RekeyFileStreams.RewrapFileAsync(path, service, ct).ConfigureAwait(false);
                moved.Add(new { file = path, from_version = from, to_version = to });
                if (output.Format != OutputFormat.Json)
                {
                    output.Message(from == to ? $"{path}: already under version {to}" : string.Create(CultureInfo.InvariantCulture, $"{path}: version {from} -> {to}"), new { });
                }
            }

            if (output.Format == OutputFormat.Json)
            {
                output.Value(moved);
            }

            return ExitCodes.Ok;
        }, ct)));
        return command;
    }

    private static Command Inspect(GlobalOptions globals)
    {
        var path = new Argument<string?>("file") { Description = "The encrypted file (default: standard input).", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("inspect", "Show an encrypted file's key, version, size and segment count, without any key or server.") { path };
        command.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            await using var source = OpenInput(parse.GetValue(path));
            var info = await RekeyFileStreams.InspectAsync(source, ct).ConfigureAwait(false);
            globals.OutputFor(parse).Message(
                string.Create(CultureInfo.InvariantCulture, $"key {info.Key}, version {info.Version}, header written {info.HeaderSequence} time(s)")
                    + (info.PlaintextLength is { } length ? string.Create(CultureInfo.InvariantCulture, $", {length} bytes in {info.Segments} segment(s) of up to {FileLayout.SegmentSize}") : string.Empty),
                new { key = info.Key.Value, version = info.Version, header_sequence = info.HeaderSequence, plaintext_bytes = info.PlaintextLength, segments = info.Segments, segment_size = FileLayout.SegmentSize });
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Stream OpenInput(string? path) =>
        path is null or "-" ? Console.OpenStandardInput() : new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);

    // To standard output as it comes; to a file through a temporary beside it, renamed only once
    // everything was written, so a failure never leaves a partial file where the result belongs.
    private static async Task WriteAtomicallyAsync(string? path, Func<Stream, Task> write)
    {
        if (path is null or "-")
        {
            await using var stdout = Console.OpenStandardOutput();
            await write(stdout).ConfigureAwait(false);
            await stdout.FlushAsync().ConfigureAwait(false);
            return;
        }

        var full = Path.GetFullPath(path);
        var temporary = Path.Combine(Path.GetDirectoryName(full)!, "." + Path.GetFileName(full) + ".partial-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        try
        {
            await using (var target = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await write(target).ConfigureAwait(false);
                await target.FlushAsync().ConfigureAwait(false);
                target.Flush(flushToDisk: true);
            }

            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
