using System.CommandLine;
using Rekey.Keys;

namespace Rekey.Cli;

/// <summary><c>rekey key ...</c>: create, inspect, rotate and move versions through their lifecycle.</summary>
internal static class KeyCommands
{
    private delegate Task<KeyVersionInfo> VersionChange(IKeyService service, KeyName name, int version, ChangeContext change, CancellationToken cancellationToken);

    public static Command Build(GlobalOptions globals)
    {
        var key = new Command("key", "Manage keys and their versions.");
        key.Subcommands.Add(Create(globals));
        key.Subcommands.Add(List(globals));
        key.Subcommands.Add(Show(globals));
        key.Subcommands.Add(Rotate(globals));
        key.Subcommands.Add(ImportCommands.ImportToken(globals));
        key.Subcommands.Add(ImportCommands.Import(globals));
        key.Subcommands.Add(Transition(globals, "activate", "Make a Pending version Active (the Active one becomes DecryptOnly).", (s, n, v, c, ct) => s.ActivateAsync(n, v, c, ct)));
        key.Subcommands.Add(Transition(globals, "disable", "Suspend a version: it neither encrypts nor decrypts.", (s, n, v, c, ct) => s.DisableAsync(n, v, c, ct)));
        key.Subcommands.Add(Transition(globals, "enable", "Return a Disabled or Retiring version to DecryptOnly.", (s, n, v, c, ct) => s.EnableAsync(n, v, c, ct)));
        key.Subcommands.Add(Retire(globals));
        key.Subcommands.Add(Transition(globals, "schedule-destroy", "Schedule a Disabled version for destruction after the key's destruction delay.", (s, n, v, c, ct) => s.ScheduleDestroyAsync(n, v, c, ct)));
        key.Subcommands.Add(Transition(globals, "cancel-destroy", "Cancel a scheduled destruction (the version returns to Disabled).", (s, n, v, c, ct) => s.CancelDestroyAsync(n, v, c, ct)));
        key.Subcommands.Add(Destroy(globals));
        key.Subcommands.Add(SetMinVersion(globals));
        key.Subcommands.Add(Update(globals));
        key.Subcommands.Add(Delete(globals));
        return key;
    }

    internal static Argument<string> NameArgument() => new("name") { Description = "The key's name, for example tenants/h42/patients." };

    private static Argument<int> VersionArgument() => new("version") { Description = "The version number." };

    internal static Option<string?> ReasonOption() => new("--reason") { Description = "Why: recorded in the audit log (an incident or ticket number, say)." };

    private static Command Create(GlobalOptions globals)
    {
        var name = NameArgument();
        var delay = new Option<string?>("--destruction-delay") { Description = "How long a version waits between schedule-destroy and destroy (for example 24h, 7d; default 24h)." };
        var deletable = new Option<bool>("--deletion-allowed") { Description = "Allow 'rekey key delete' later (off by default)." };
        var reason = ReasonOption();
        var command = new Command("create", "Create a key with version 1 Active.") { name, delay, deletable, reason };
        command.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            TimeSpan? destructionDelay = null;
            if (parse.GetValue(delay) is { } text)
            {
                destructionDelay = Durations.TryParse(text, out var d) ? d : throw new UsageException($"'{text}' is not a duration like 30s, 15m, 24h or 7d.");
            }

            var keyName = CliApp.ParseKeyName(parse.GetValue(name)!);
            var info = await service.CreateKeyAsync(keyName, new KeyCreateOptions(destructionDelay, parse.GetValue(deletable)), Change(parse, reason), ct).ConfigureAwait(false);
            globals.OutputFor(parse).Key(info, await service.ListVersionsAsync(keyName, ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }, ct)));
        return command;
    }

    private static Command List(GlobalOptions globals)
    {
        var prefix = new Option<string?>("--prefix") { Description = "Only keys whose names start with this." };
        var command = new Command("list", "List keys.") { prefix };
        command.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            globals.OutputFor(parse).Keys(await service.ListKeysAsync(parse.GetValue(prefix), ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }, ct)));
        return command;
    }

    private static Command Show(GlobalOptions globals)
    {
        var name = NameArgument();
        var command = new Command("show", "Show a key and its versions (state, times, usage; never material).") { name };
        command.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            var keyName = CliApp.ParseKeyName(parse.GetValue(name)!);
            globals.OutputFor(parse).Key(await service.GetKeyAsync(keyName, ct).ConfigureAwait(false), await service.ListVersionsAsync(keyName, ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }, ct)));
        return command;
    }

    private static Command Rotate(GlobalOptions globals)
    {
        var name = NameArgument();
        var expected = new Option<int?>("--expected-version") { Description = "Rotate only if this is still the Active version (else exit 5, conflict)." };
        var pending = new Option<bool>("--pending") { Description = "Stage the new version as Pending; activate it later with 'rekey key activate'." };
        var reason = ReasonOption();
        var command = new Command("rotate", "Add a new version; by default it becomes Active and the old Active becomes DecryptOnly.") { name, expected, pending, reason };
        command.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            var keyName = CliApp.ParseKeyName(parse.GetValue(name)!);
            var options = new RotateOptions(parse.GetValue(expected), Activate: !parse.GetValue(pending));
            globals.OutputFor(parse).Version(await service.RotateAsync(keyName, options, Change(parse, reason), ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }, ct)));
        return command;
    }

    private static Command Retire(GlobalOptions globals)
    {
        var name = NameArgument();
        var version = VersionArgument();
        var grace = new Option<string>("--grace") { Description = "The grace period during which the version still decrypts (default 30d).", DefaultValueFactory = _ => "30d" };
        var reason = ReasonOption();
        var command = new Command("retire", "Start a DecryptOnly version's grace period; its decryptions are counted.") { name, version, grace, reason };
        command.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            var text = parse.GetValue(grace)!;
            var period = Durations.TryParse(text, out var d) ? d : throw new UsageException($"'{text}' is not a duration like 30s, 15m, 24h or 7d.");
            var keyName = CliApp.ParseKeyName(parse.GetValue(name)!);
            globals.OutputFor(parse).Version(await service.RetireAsync(keyName, parse.GetValue(version), period, Change(parse, reason), ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }, ct)));
        return command;
    }

    private static Command Transition(GlobalOptions globals, string verb, string description, VersionChange change)
    {
        var name = NameArgument();
        var version = VersionArgument();
        var reason = ReasonOption();
        var command = new Command(verb, description) { name, version, reason };
        command.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            var keyName = CliApp.ParseKeyName(parse.GetValue(name)!);
            globals.OutputFor(parse).Version(await change(service, keyName, parse.GetValue(version), Change(parse, reason), ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }, ct)));
        return command;
    }

    private static Command Destroy(GlobalOptions globals)
    {
        var name = NameArgument();
        var version = VersionArgument();
        var reason = ReasonOption();
        var force = new Option<bool>("--force") { Description = "Destroy although the inventory shows values under the version or has not been counted since the version stopped encrypting; needs --reason." };
        var command = new Command("destroy", "Erase a version's material for good, once its destruction delay has passed and the inventory shows nothing under it.") { name, version, reason, force };
        command.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            var keyName = CliApp.ParseKeyName(parse.GetValue(name)!);
            var destroyed = await service.DestroyAsync(keyName, parse.GetValue(version), new DestroyOptions(parse.GetValue(force)), Change(parse, reason), ct).ConfigureAwait(false);
            globals.OutputFor(parse).Version(destroyed);
            return ExitCodes.Ok;
        }, ct)));
        return command;
    }

    private static Command SetMinVersion(GlobalOptions globals)
    {
        var name = NameArgument();
        var version = VersionArgument();
        var reason = ReasonOption();
        var command = new Command("set-min-version", "Refuse decryption with versions below this one (at most the Active version).") { name, version, reason };
        command.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            var keyName = CliApp.ParseKeyName(parse.GetValue(name)!);
            var info = await service.SetMinDecryptionVersionAsync(keyName, parse.GetValue(version), Change(parse, reason), ct).ConfigureAwait(false);
            globals.OutputFor(parse).Key(info, await service.ListVersionsAsync(keyName, ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }, ct)));
        return command;
    }

    private static Command Update(GlobalOptions globals)
    {
        var name = NameArgument();
        var delay = new Option<string?>("--destruction-delay") { Description = "A new destruction delay (for example 24h, 7d)." };
        var deletable = new Option<bool?>("--deletion-allowed") { Description = "true to allow deleting the key, false to forbid it." };
        var reason = ReasonOption();
        var command = new Command("update", "Change a key's configuration.") { name, delay, deletable, reason };
        command.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            TimeSpan? destructionDelay = null;
            if (parse.GetValue(delay) is { } text)
            {
                destructionDelay = Durations.TryParse(text, out var d) ? d : throw new UsageException($"'{text}' is not a duration like 30s, 15m, 24h or 7d.");
            }

            if (destructionDelay is null && parse.GetValue(deletable) is null)
            {
                throw new UsageException("Nothing to update: give --destruction-delay or --deletion-allowed.");
            }

            var keyName = CliApp.ParseKeyName(parse.GetValue(name)!);
            var info = await service.UpdateKeyAsync(keyName, new KeyConfigUpdate(destructionDelay, parse.GetValue(deletable)), Change(parse, reason), ct).ConfigureAwait(false);
            globals.OutputFor(parse).Key(info, await service.ListVersionsAsync(keyName, ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }, ct)));
        return command;
    }

    private static Command Delete(GlobalOptions globals)
    {
        var name = NameArgument();
        var reason = ReasonOption();
        var command = new Command("delete", "Delete a key that allows it, erasing every version: whatever it protects becomes unreadable.") { name, reason };
        command.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            var keyName = CliApp.ParseKeyName(parse.GetValue(name)!);
            await service.DeleteKeyAsync(keyName, Change(parse, reason), ct).ConfigureAwait(false);
            globals.OutputFor(parse).Message($"Key '{keyName}' deleted; its material is erased.", new { name = keyName.Value, deleted = true });
            return ExitCodes.Ok;
        }, ct)));
        return command;
    }

    internal static ChangeContext Change(ParseResult parse, Option<string?> reason) => new(StoreHome.ActorName(), parse.GetValue(reason));
}
