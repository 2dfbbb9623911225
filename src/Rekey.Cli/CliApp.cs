using System.CommandLine;
using System.CommandLine.Parsing;
using Rekey.Errors;
using Rekey.Keys;

namespace Rekey.Cli;

/// <summary>Builds the <c>rekey</c> command tree and runs it, mapping every failure to one exit code.</summary>
internal static class CliApp
{
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var globals = new GlobalOptions();
        var root = new RootCommand("""
            Rekey: envelope encryption with versioned keys and zero-downtime rotation.

            With REKEY_ADDR set (for example http://127.0.0.1:8200), commands talk to that server with the
            bearer token in REKEY_TOKEN; otherwise they work on the local store in --dir (REKEY_DIR, else ./.rekey).
            """);
        globals.AddTo(root);
        root.Subcommands.Add(InitCommand.Build(globals));
        root.Subcommands.Add(KeyCommands.Build(globals));
        foreach (var command in CryptoCommands.Build(globals))
        {
            // 'rekey rewrap' re-wraps one envelope from stdin; its subcommands run re-wrap jobs over tables.
            if (command.Name == "rewrap")
            {
                RewrapCommands.AddTo(command, globals);
            }

            root.Subcommands.Add(command);
        }

        root.Subcommands.Add(AuditCommands.Build(globals));
        root.Subcommands.Add(SourceCommands.Build(globals));
        root.Subcommands.Add(PolicyCommands.Build(globals));
        root.Subcommands.Add(RotationCommands.Build(globals));
        root.Subcommands.Add(RootCommands.Build(globals));
        root.Subcommands.Add(ReportCommand.Build(globals));
        root.Subcommands.Add(TokenCommands.Build(globals));
        root.Subcommands.Add(ApprovalCommands.Build(globals));
        root.Subcommands.Add(FileCommands.Build(globals));
        root.Subcommands.Add(ServerCommand.Build(globals));

        var parse = root.Parse(args);
        var json = args.Contains("json", StringComparer.OrdinalIgnoreCase) && parse.GetResult(globals.Format) is { } format && format.Tokens.Any(t => t.Value.Equals("json", StringComparison.OrdinalIgnoreCase));
        if (parse.Errors.Count > 0)
        {
            var messages = parse.Errors.Select(e => Explain(e.Message)).ToList();
            if (json)
            {
                await stderr.WriteLineAsync(Output.ErrorJson("Usage", string.Join(" ", messages), ExitCodes.Usage)).ConfigureAwait(false);
                return ExitCodes.Usage;
            }

            foreach (var message in messages)
            {
                await stderr.WriteLineAsync($"error: {message}").ConfigureAwait(false);
            }

            await stderr.WriteLineAsync("Run 'rekey --help' for usage.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        globals.Stdout = stdout;
        globals.Stderr = stderr;
        globals.JsonErrors = json;
        // Signals are the commands' own business: a running re-wrap job hands itself back and the
        // server stops gracefully. System.CommandLine's handling would return (130) before they
        // are done, and the process would exit under them.
        return await parse.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr, ProcessTerminationTimeout = null }).ConfigureAwait(false);
    }

    // System.CommandLine names .NET types ("System.Nullable`1[System.Int32]"); say what the option takes.
    private static string Explain(string message)
    {
        var match = System.Text.RegularExpressions.Regex.Match(message, "^Cannot parse argument '(.*)' for option '(.*)' as expected type '(.*)'\\.?$");
        if (!match.Success)
        {
            return message;
        }

        var type = match.Groups[3].Value;
        var takes = type.Contains("Int32", StringComparison.Ordinal) || type.Contains("Int64", StringComparison.Ordinal) ? "a whole number"
            : type.Contains("Boolean", StringComparison.Ordinal) ? "true or false"
            : "another kind of value";
        return $"{match.Groups[2].Value} takes {takes}, not '{match.Groups[1].Value}'.";
    }

    /// <summary>Runs a command body, turning every failure into a message on stderr and its exit code.</summary>
    public static async Task<int> Guard(GlobalOptions globals, Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (RekeyException e)
        {
            return await FailAsync(globals, e.Code.ToString(), e.Message, ExitCodes.For(e.Code)).ConfigureAwait(false);
        }
        catch (RekeyStoreException e)
        {
            return await FailAsync(globals, e.IsTransient ? "Store, transient" : "Store", e.Message, ExitCodes.StoreFailure).ConfigureAwait(false);
        }
        catch (Rekey.Server.Hosting.RekeyServerOptionsException e)
        {
            return await FailAsync(globals, null, e.Message, ExitCodes.Usage).ConfigureAwait(false);
        }
        catch (UsageException e)
        {
            return await FailAsync(globals, null, e.Message, ExitCodes.Usage).ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            // The framework appends " (Parameter 'x')", which names a C# parameter, not an option.
            var message = e.ParamName is { } name ? e.Message.Replace($" (Parameter '{name}')", string.Empty, StringComparison.Ordinal) : e.Message;
            return await FailAsync(globals, null, message, ExitCodes.Usage).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return await FailAsync(globals, "IO", e.Message, ExitCodes.StoreFailure).ConfigureAwait(false);
        }
    }

    // One line on stderr: "error [Code]: message", or with --format json one JSON object.
    private static async Task<int> FailAsync(GlobalOptions globals, string? code, string message, int exitCode)
    {
        var line = globals.JsonErrors
            ? Output.ErrorJson(code ?? (exitCode == ExitCodes.Usage ? "Usage" : "Error"), message, exitCode)
            : code is null ? $"error: {message}" : $"error [{code}]: {message}";
        await globals.Stderr.WriteLineAsync(line).ConfigureAwait(false);
        return exitCode;
    }

    public static KeyName ParseKeyName(string value) =>
        KeyName.TryParse(value, out var name) ? name : throw new UsageException($"'{value}' is not a valid key name: {KeyName.Validate(value)}");
}

/// <summary>A command-line mistake found after parsing (a value the parser cannot judge).</summary>
internal sealed class UsageException(string message) : Exception(message);
