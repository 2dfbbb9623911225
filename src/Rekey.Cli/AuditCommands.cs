using System.CommandLine;
using Rekey.Audit;

namespace Rekey.Cli;

/// <summary><c>rekey audit list|verify</c>.</summary>
internal static class AuditCommands
{
    public static Command Build(GlobalOptions globals)
    {
        var audit = new Command("audit", "Read and verify the tamper-evident audit log.");

        var after = new Option<long>("--after") { Description = "Only events after this sequence number.", DefaultValueFactory = _ => 0 };
        var limit = new Option<int>("--limit") { Description = "At most this many events (default 100).", DefaultValueFactory = _ => 100 };
        var list = new Command("list", "List audit events, oldest first.") { after, limit };
        list.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            globals.OutputFor(parse).Audit(await service.ReadAuditAsync(parse.GetValue(after), parse.GetValue(limit), ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }, ct)));
        audit.Subcommands.Add(list);

        var head = new Option<string?>("--head") { Description = "A head printed by an earlier verify (<seq>:<hash>): also detect events removed from the end since then." };
        var verify = new Command("verify", "Verify the hash chain; print its head (exit 8 when invalid).") { head };
        verify.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            AuditHead? expected = null;
            if (parse.GetValue(head) is { } text)
            {
                try
                {
                    expected = AuditHead.Parse(text);
                }
                catch (FormatException e)
                {
                    throw new UsageException(e.Message);
                }
            }

            var result = await service.VerifyAuditAsync(expected, ct).ConfigureAwait(false);
            globals.OutputFor(parse).Verification(result);
            return result.IsValid ? ExitCodes.Ok : ExitCodes.AuditInvalid;
        }, ct)));
        audit.Subcommands.Add(verify);
        return audit;
    }
}
