using System.CommandLine;

namespace Rekey.Cli;

/// <summary><c>rekey source add|list|show|remove</c>: the registered data sources re-wrap jobs run over.</summary>
internal static class SourceCommands
{
    public static Command Build(GlobalOptions globals)
    {
        var source = new Command("source", "Register the tables re-wrap jobs may touch (their connections are stored wrapped by the root, never shown).");

        var name = new Argument<string>("name") { Description = "The source's name: lowercase letters, digits, '.', '_', '-'." };
        var keys = new Option<string[]>("--keys") { Description = "Key-name patterns whose ciphertexts the table holds (tenants/h42/*, an exact name, or *); jobs over it may only be for these.", Required = true, AllowMultipleArgumentsPerToken = true };
        var reason = new Option<string?>("--reason") { Description = "Recorded in the audit log." };
        var table = new TableOptions(required: true);
        var add = new Command("add", "Register a data source (admin or key-officer): checked to be readable and not a Rekey store.") { name, keys, reason };
        table.AddTo(add);
        add.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            var request = table.Request(parse) with { Name = parse.GetValue(name), Keys = parse.GetValue(keys), Reason = parse.GetValue(reason) };
            await using var backend = await RewrapCommands.OpenAsync(globals, parse, ct).ConfigureAwait(false);
            globals.OutputFor(parse).Source(await backend.RegisterSourceAsync(request, ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }));
        source.Subcommands.Add(add);

        var list = new Command("list", "List the registered data sources.");
        list.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            await using var backend = await RewrapCommands.OpenAsync(globals, parse, ct).ConfigureAwait(false);
            globals.OutputFor(parse).Sources(await backend.ListSourcesAsync(ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }));
        source.Subcommands.Add(list);

        var showName = new Argument<string>("name") { Description = "The source's name." };
        var show = new Command("show", "Show a data source (never its connection).") { showName };
        show.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            await using var backend = await RewrapCommands.OpenAsync(globals, parse, ct).ConfigureAwait(false);
            globals.OutputFor(parse).Source(await backend.GetSourceAsync(parse.GetValue(showName)!, ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }));
        source.Subcommands.Add(show);

        var removeName = new Argument<string>("name") { Description = "The source's name." };
        var remove = new Command("remove", "Remove a data source; jobs that name it fail on their next run.") { removeName };
        remove.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            await using var backend = await RewrapCommands.OpenAsync(globals, parse, ct).ConfigureAwait(false);
            await backend.RemoveSourceAsync(parse.GetValue(removeName)!, ct).ConfigureAwait(false);
            globals.OutputFor(parse).Message($"Removed data source '{parse.GetValue(removeName)}'.", new { removed = parse.GetValue(removeName) });
            return ExitCodes.Ok;
        }));
        source.Subcommands.Add(remove);
        return source;
    }
}
