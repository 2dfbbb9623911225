using System.CommandLine;
using System.Runtime.InteropServices;
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
        var source = new Option<string?>("--source") { Description = "A registered data source (see 'rekey source'). Locally, the table may instead be given with --kind, --connection, --table and --column." };
        var table = new TableOptions(required: false);
        var mode = new Option<string>("--mode") { Description = "rewrap (default: only the wrapped data key changes) or reencrypt (new data keys; needs --context-template).", DefaultValueFactory = _ => "rewrap" };
        var batch = new Option<int>("--batch-size") { Description = "Rows per batch (default 1000).", DefaultValueFactory = _ => 1000 };
        var throttle = new Option<int>("--throttle") { Description = "At most this many rows per second (default 0: no limit).", DefaultValueFactory = _ => 0 };
        var concurrency = new Option<int>("--concurrency") { Description = "Batches transformed at once (default 2).", DefaultValueFactory = _ => 2 };
        var descending = new Option<bool>("--descending") { Description = "Highest ids first." };
        var verify = new Option<string>("--verify") { Description = "none (default), sample:N, or full: decrypt at the end and report.", DefaultValueFactory = _ => "none" };
        var template = new Option<string?>("--context-template") { Description = "Each record's context, with {id} for its id (for reencrypt and --verify), e.g. 'table=patients;id={id}'." };
        var form = new Option<string?>("--context-form") { Description = "text (default: the template as a string) or pairs (its name=value;... pairs as a pairs context, EncryptionContext.FromPairs): the form the application encrypted with." };
        var detach = new Option<bool>("--detach") { Description = "Only create the job: run it later with 'rekey rewrap resume' (or let the server run it)." };
        var reason = new Option<string?>("--reason") { Description = "Recorded in the audit log." };
        var command = new Command("start", "Create a re-wrap job and run it (locally) or watch it (on a server) with a progress bar.")
        {
            key, source, mode, batch, throttle, concurrency, descending, verify, template, form, detach, reason,
        };
        table.AddTo(command);
        command.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            var (verification, sample) = ParseVerify(parse.GetValue(verify)!);
            var registered = parse.GetValue(source);
            if (registered is not null == table.AnyGiven(parse))
            {
                throw new UsageException("Name a registered data source with --source NAME, or (locally) give the table with --kind, --connection, --table and --column; not both.");
            }

            var inline = registered is null ? Rekey.Server.Endpoints.RewrapMapping.ToSource(table.Request(parse)) : null;
            var request = new RewrapJobRequest(
                registered,
                parse.GetValue(mode),
                parse.GetValue(batch),
                parse.GetValue(throttle),
                parse.GetValue(concurrency),
                parse.GetValue(descending),
                verification,
                sample,
                parse.GetValue(template),
                parse.GetValue(reason),
                parse.GetValue(form));
            await using var backend = await OpenAsync(globals, parse, ct).ConfigureAwait(false);
            var job = await backend.StartAsync(CliApp.ParseKeyName(parse.GetValue(key)!), request, inline, ct).ConfigureAwait(false);
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

    private static async Task<int> RunAsync(GlobalOptions globals, ParseResult parse, IRewrapBackend backend, string id, CancellationToken outer)
    {
        // Ctrl+C (SIGINT) or SIGTERM stops a local job after the batch in hand and hands it back
        // as Pending, resumable at once; the process exits when that is recorded.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(outer);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        var cancellationToken = stop.Token;
        var output = globals.OutputFor(parse);
        var final = output.Format == OutputFormat.Json
            ? await backend.RunAsync(id, new Progress<RewrapJobResource>(), cancellationToken).ConfigureAwait(false)
            : await RewrapProgress.ShowAsync(output.Console, p => backend.RunAsync(id, p, cancellationToken)).ConfigureAwait(false);
        output.Job(final);
        if (stop.IsCancellationRequested && !outer.IsCancellationRequested && backend.RunsLocally)
        {
            await globals.Stderr.WriteLineAsync($"Stopped; job {final.Id} is {final.State}. Continue it with 'rekey rewrap resume {final.Id}'.").ConfigureAwait(false);
        }

        return final.State switch
        {
            "Completed" => ExitCodes.Ok,
            "Failed" => ExitCodes.StoreFailure,
            _ => ExitCodes.Refused,
        };

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
    }

    private static (string Mode, int? Sample) ParseVerify(string text) => text switch
    {
        "none" or "full" => (text, null),
        _ when text.StartsWith("sample:", StringComparison.Ordinal) && int.TryParse(text.AsSpan(7), out var n) && n > 0 => ("sample", n),
        _ => throw new UsageException($"--verify is none, sample:N or full, not '{text}'."),
    };

    /// <summary>The local store (jobs run here) or, with REKEY_ADDR, the server.</summary>
    public static async Task<IRewrapBackend> OpenAsync(GlobalOptions globals, ParseResult parse, CancellationToken cancellationToken)
    {
        if (GlobalOptions.ServerAddress() is { } address)
        {
            return new RemoteRewrapBackend(GlobalOptions.OpenClient(address));
        }

        var open = await StoreHome.Open(parse.GetValue(globals.Dir)!).OpenServiceAsync(null, cancellationToken).ConfigureAwait(false);
        return new LocalRewrapBackend(open);
    }
}
