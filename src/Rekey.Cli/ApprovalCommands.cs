using System.CommandLine;
using Rekey.Api;
using Rekey.Approvals;
using Rekey.Errors;
using Rekey.Hosting;
using Rekey.Lifecycle;
using Rekey.Storage;

namespace Rekey.Cli;

/// <summary>
/// <c>rekey approval list|show|approve|deny</c>: dual control. Listing and reading work on the
/// server (REKEY_ADDR) or the local store; deciding needs the server, where the approver is an
/// authenticated token with the approver role.
/// </summary>
internal static class ApprovalCommands
{
    public static Command Build(GlobalOptions globals)
    {
        var approval = new Command("approval", "Dual control: operations waiting for approvers, and deciding on them.");
        approval.Subcommands.Add(List(globals));
        approval.Subcommands.Add(Show(globals));
        approval.Subcommands.Add(Decide(globals, approve: true));
        approval.Subcommands.Add(Decide(globals, approve: false));
        return approval;
    }

    private static Command List(GlobalOptions globals)
    {
        var state = new Option<string?>("--state") { Description = "Only approvals in this state: pending, approved, executed, failed, denied or expired." };
        var command = new Command("list", "List approvals, newest first.") { state };
        command.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            var wanted = parse.GetValue(state);
            if (wanted is not null && (!Enum.TryParse<ApprovalState>(wanted, ignoreCase: true, out _) || int.TryParse(wanted, out _)))
            {
                throw new UsageException($"--state must be pending, approved, executed, failed, denied or expired, not '{wanted}'.");
            }

            IReadOnlyList<ApprovalResource> approvals;
            if (GlobalOptions.ServerAddress() is { } address)
            {
                using var client = GlobalOptions.OpenClient(address);
                approvals = await client.ListApprovalsAsync(wanted?.ToLowerInvariant(), ct).ConfigureAwait(false);
            }
            else
            {
                await using var stack = await StoreHome.Open(parse.GetValue(globals.Dir)!).OpenServiceAsync(null, ct).ConfigureAwait(false);
                var filter = wanted is null ? (ApprovalState?)null : Enum.Parse<ApprovalState>(wanted, ignoreCase: true);
                approvals = (await Board(stack).ListAsync(filter, 100, ct).ConfigureAwait(false)).Select(ApiMapping.ToResource).ToList();
            }

            globals.OutputFor(parse).Approvals(approvals);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Show(GlobalOptions globals)
    {
        var id = new Argument<string>("id") { Description = "The approval's id (apr_...)." };
        var command = new Command("show", "Show one approval: the exact operation, its hash, who asked and who decided.") { id };
        command.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            ApprovalResource approval;
            if (GlobalOptions.ServerAddress() is { } address)
            {
                using var client = GlobalOptions.OpenClient(address);
                approval = await client.GetApprovalAsync(parse.GetValue(id)!, ct).ConfigureAwait(false);
            }
            else
            {
                await using var stack = await StoreHome.Open(parse.GetValue(globals.Dir)!).OpenServiceAsync(null, ct).ConfigureAwait(false);
                approval = ApiMapping.ToResource(await Board(stack).GetAsync(parse.GetValue(id)!, ct).ConfigureAwait(false));
            }

            globals.OutputFor(parse).Approval(approval);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Decide(GlobalOptions globals, bool approve)
    {
        var id = new Argument<string>("id") { Description = "The approval's id (apr_...)." };
        var comment = new Option<string?>("--comment") { Description = "Recorded with the decision and in the audit log." };
        var command = new Command(
            approve ? "approve" : "deny",
            approve
                ? "Approve an operation as the token in REKEY_TOKEN (an approver); with enough approvals it runs at once."
                : "Deny an operation as the token in REKEY_TOKEN (an approver); it will not run.") { id, comment };
        command.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            // Locally there is nobody to authenticate: anyone at this prompt could claim to be an approver.
            var address = GlobalOptions.ServerAddress() ?? throw new UsageException($"'rekey approval {(approve ? "approve" : "deny")}' needs a server, where the approver signs in with a token: set REKEY_ADDR and REKEY_TOKEN.");
            using var client = GlobalOptions.OpenClient(address);
            var decided = await client.DecideApprovalAsync(parse.GetValue(id)!, approve, parse.GetValue(comment), ct).ConfigureAwait(false);
            var output = globals.OutputFor(parse);
            output.Approval(decided);
            return decided.State == "failed" ? ExitCodes.Refused : ExitCodes.Ok;
        }));
        return command;
    }

    private static ApprovalBoard Board(RekeyStack stack) =>
        new((IApprovalStore)stack.Store, stack.Service, new LifecyclePolicies(stack.Service, (ILifecycleStore)stack.Store));
}
