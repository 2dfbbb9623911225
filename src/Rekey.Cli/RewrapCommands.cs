using System.CommandLine;
using Rekey.Api;

namespace Rekey.Cli;

/// <summary>
/// <c>rekey rewrap start|status|pause|resume|cancel|failures|inventory</c>. Locally the job runs in
/// this process with a live progress bar (Ctrl+C hands it back, resumable); against a server
/// (REKEY_ADDR) the server runs it and the CLI shows the same bar while it watches.
/// </summary>
internal static class RewrapCommands
{
    /// <summary>Adds the job subcommands to the <c>rewrap</c> command (which, alone, re-wraps one envelope from stdin).</summary>
    public static void AddTo(Command rewrap, GlobalOptions globals)
    {
        rewrap.Subcommands.Add(Start(globals));
        rewrap.Subcommands.Add(Status(globals));
        rewrap.Subcommands.Add(Control(globals, "pause", "Pause a job after the batch in hand; resume continues from its checkpoint."));
        rewrap.Subcommands.Add(Resume(globals));
        rewrap.Subcommands.Add(Control(globals, "cancel", "Cancel a job for good (values already moved stay moved)."));
        rewrap.Subcommands.Add(Failures(globals));
        rewrap.Subcommands.Add(Inventory(globals));
    }

    private static Command Start(GlobalOptions globals)
    {
        var key = new Option<string>("--key") { Description = "The key whose ciphertexts to move (to its Active version).", Required = true };
        var source = new Option<string>("--source") { Description = "postgres or sqlite.", Required = true };
        var connection = new Option<string>("--connection") { Description = "PostgreSQL connection string, or SQLite file path.", Required = true };
        var table = new Option<string>("--table") { Description = "The table (schema.table allowed).", Required = true };
        var idColumn = new Option<string>("--id-column") { Description = "Its unique id column (default id).", DefaultValueFactory = _ => "id" };
        var idType = new Option<string>("--id-type") { Description = "integer (default) or text.", DefaultValueFactory = _ => "integer" };
        var columns = new Option<string[]>("--column") { Description = "A ciphertext column; NAME or NAME:bytes for binary envelopes (repeat for several).", Required = true, AllowMultipleArgumentsPerToken = true };
        var filter = new Option<string?>("--filter") { Description = "Only rows where COLUMN=VALUE." };
        var mode = new Option<string>("--mode") { Description = "rewrap (default: only the wrapped data key changes) or reencrypt (new data keys; needs --context-template).", DefaultValueFactory = _ => "rewrap" };
        var batch = new Option<int>("--batch-size") { Description = "Rows per batch (default 1000).", DefaultValueFactory = _ => 1000 };
        var throttle = new Option<int>("--throttle") { Description = "At most this many rows per second (default 0: no limit).", DefaultValueFactory = _ => 0 };
        var concurrency = new Option<int>("--concurrency") { Description = "Batches transformed at once (default 2).", DefaultValueFactory = _ => 2 };
        var descending = new Option<bool>("--descending") { Description = "Highest ids first." };
        var verify = new Option<string>("--verify") { Description = "none (default), sample:N, or full: decrypt at the end and report.", DefaultValueFactory = _ => "none" };
        var template = new Option<string?>("--context-template") { Description = "Each record's context, with {id} for its id (for reencrypt and --verify), e.g. 'table=patients;id={id}'." };
        var detach = new Option<bool>("--detach") { Description = "Only create the job: run it later with 'rekey rewrap resume' (or let the server run it)." };
        var reason = new Option<string?>("--reason") { Description = "Recorded in the audit log." };
        var command = new Command("start", "Create a re-wrap job and run it (locally) or watch it (on a server) with a progress bar.")
        {
            key, source, connection, table, idColumn, idType, columns, filter, mode, batch, throttle, concurrency, descending, verify, template, detach, reason,
        };
        command.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            var (verification, sample) = ParseVerify(parse.GetValue(verify)!);
            string? filterColumn = null, filterValue = null;
            if (parse.GetValue(filter) is { } f)
            {
                var eq = f.IndexOf('=', StringComparison.Ordinal);
                (filterColumn, filterValue) = eq > 0 ? (f[..eq], f[(eq + 1)..]) : throw new UsageException("--filter is COLUMN=VALUE.");
            }

            var request = new RewrapJobRequest(
                new RewrapSourceRequest(
                    parse.GetValue(source),
                    parse.GetValue(connection),
                    parse.GetValue(table),
                    parse.GetValue(idColumn),
                    parse.GetValue(idType),
                    parse.GetValue(columns)!.Select(c => c.EndsWith(":bytes", StringComparison.Ordinal) ? new RewrapColumnRequest(c[..^6], "bytes") : new RewrapColumnRequest(c, "text")).ToList(),
                    filterColumn,
                    filterValue),
                parse.GetValue(mode),
                parse.GetValue(batch),
                parse.GetValue(throttle),
                parse.GetValue(concurrency),
                parse.GetValue(descending),
                verification,
                sample,
                parse.GetValue(template),
                parse.GetValue(reason));
            await using var backend = await OpenAsync(globals, parse, ct).ConfigureAwait(false);
            var job = await backend.StartAsync(CliApp.ParseKeyName(parse.GetValue(key)!), request, ct).ConfigureAwait(false);
            if (parse.GetValue(detach))
            {
                globals.OutputFor(parse).Job(job);
                return ExitCodes.Ok;
            }

            return await RunAsync(globals, parse, backend, job.Id, ct).ConfigureAwait(false);
        }));
        return command;
    }

    private static Command Status(GlobalOptions globals)
    {
        var id = new Argument<string?>("id") { Description = "A job id; all jobs when left out.", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("status", "Show a job's progress (or list every job).") { id };
        command.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            await using var backend = await OpenAsync(globals, parse, ct).ConfigureAwait(false);
            var output = globals.OutputFor(parse);
            if (parse.GetValue(id) is { } jobId)
            {
                output.Job(await backend.GetAsync(jobId, ct).ConfigureAwait(false));
            }
            else
            {
                output.Jobs(await backend.ListAsync(ct).ConfigureAwait(false));
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Resume(GlobalOptions globals)
    {
        var id = new Argument<string>("id") { Description = "The job id." };
        var command = new Command("resume", "Continue a paused, failed or interrupted job from its checkpoint (locally: in this process, with the progress bar).") { id };
        command.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            await using var backend = await OpenAsync(globals, parse, ct).ConfigureAwait(false);
            return await RunAsync(globals, parse, backend, parse.GetValue(id)!, ct).ConfigureAwait(false);
        }));
        return command;
    }

    private static Command Control(GlobalOptions globals, string action, string description)
    {
        var id = new Argument<string>("id") { Description = "The job id." };
        var command = new Command(action, description) { id };
        command.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            await using var backend = await OpenAsync(globals, parse, ct).ConfigureAwait(false);
            globals.OutputFor(parse).Job(await backend.ControlAsync(parse.GetValue(id)!, action, ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Failures(GlobalOptions globals)
    {
        var id = new Argument<string>("id") { Description = "The job id." };
        var command = new Command("failures", "List the records a job could not move, and why.") { id };
        command.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            await using var backend = await OpenAsync(globals, parse, ct).ConfigureAwait(false);
            globals.OutputFor(parse).Failures(await backend.FailuresAsync(parse.GetValue(id)!, ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Inventory(GlobalOptions globals)
    {
        var key = new Argument<string>("key") { Description = "The key." };
        var command = new Command("inventory", "How many stored values each version of a key still protects, per source, as last counted.") { key };
        command.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            await using var backend = await OpenAsync(globals, parse, ct).ConfigureAwait(false);
            globals.OutputFor(parse).Inventory(await backend.InventoryAsync(CliApp.ParseKeyName(parse.GetValue(key)!), ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static async Task<int> RunAsync(GlobalOptions globals, ParseResult parse, IRewrapBackend backend, string id, CancellationToken cancellationToken)
    {
        var output = globals.OutputFor(parse);
        var final = output.Format == OutputFormat.Json
            ? await backend.RunAsync(id, new Progress<RewrapJobResource>(), cancellationToken).ConfigureAwait(false)
            : await RewrapProgress.ShowAsync(output.Console, p => backend.RunAsync(id, p, cancellationToken)).ConfigureAwait(false);
        output.Job(final);
        return final.State switch
        {
            "Completed" => ExitCodes.Ok,
            "Failed" => ExitCodes.StoreFailure,
            _ => ExitCodes.Refused,
        };
    }

    private static (string Mode, int? Sample) ParseVerify(string text) => text switch
    {
        "none" or "full" => (text, null),
        _ when text.StartsWith("sample:", StringComparison.Ordinal) && int.TryParse(text.AsSpan(7), out var n) && n > 0 => ("sample", n),
        _ => throw new UsageException($"--verify is none, sample:N or full, not '{text}'."),
    };

    private static async Task<IRewrapBackend> OpenAsync(GlobalOptions globals, ParseResult parse, CancellationToken cancellationToken)
    {
        if (GlobalOptions.ServerAddress() is { } address)
        {
            return new RemoteRewrapBackend(GlobalOptions.OpenClient(address));
        }

        var open = await StoreHome.Open(parse.GetValue(globals.Dir)!).OpenServiceAsync(null, cancellationToken).ConfigureAwait(false);
        return new LocalRewrapBackend(open);
    }
}
