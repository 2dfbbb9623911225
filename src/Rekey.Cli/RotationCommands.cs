using System.CommandLine;

namespace Rekey.Cli;

/// <summary><c>rekey rotation list|show|retry</c>: the record of every rotation, manual or scheduled.</summary>
internal static class RotationCommands
{
    public static Command Build(GlobalOptions globals)
    {
        var rotation = new Command("rotation", "Rotation records: phases (prepare, execute, verify, complete or failed), re-wrap jobs and what is left under older versions.");

        var key = new Option<string?>("--key") { Description = "Only this key's rotations." };
        var limit = new Option<int>("--limit") { Description = "At most this many, newest first.", DefaultValueFactory = _ => 50 };
        var list = new Command("list", "List rotation records, newest first.") { key, limit };
        list.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            var name = parse.GetValue(key) is { } text ? CliApp.ParseKeyName(text) : (Keys.KeyName?)null;
            await using var backend = await RemoteLifecycleBackend.OpenAsync(globals, parse, ct).ConfigureAwait(false);
            globals.OutputFor(parse).Rotations(await backend.ListRotationsAsync(name, Math.Clamp(parse.GetValue(limit), 1, 1000), ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }));
        rotation.Subcommands.Add(list);

        var showId = new Argument<string>("id") { Description = "The rotation's id (rot_...)." };
        var show = new Command("show", "Show one rotation: phase and when each began, jobs, per-source counts, and what it waits for or why it failed.") { showId };
        show.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            await using var backend = await RemoteLifecycleBackend.OpenAsync(globals, parse, ct).ConfigureAwait(false);
            globals.OutputFor(parse).Rotation(await backend.GetRotationAsync(parse.GetValue(showId)!, ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }));
        rotation.Subcommands.Add(show);

        var retryId = new Argument<string>("id") { Description = "The failed rotation's id." };
        var reason = new Option<string?>("--reason") { Description = "Recorded in the audit log." };
        var retry = new Command("retry", "Send a failed rotation back to the phase it failed in; the scheduler carries on from there.") { retryId, reason };
        retry.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            await using var backend = await RemoteLifecycleBackend.OpenAsync(globals, parse, ct).ConfigureAwait(false);
            globals.OutputFor(parse).Rotation(await backend.RetryRotationAsync(parse.GetValue(retryId)!, parse.GetValue(reason), ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }));
        rotation.Subcommands.Add(retry);
        return rotation;
    }
}
