using System.CommandLine;
using Rekey.Access;
using Rekey.Lifecycle;
using Rekey.Storage;

namespace Rekey.Cli;

/// <summary><c>rekey report</c>: the compliance report, from the local store or the server.</summary>
internal static class ReportCommand
{
    public static Command Build(GlobalOptions globals)
    {
        var key = new Option<string>("--key") { Description = "The keys to report on: a key name or pattern (tenants/*). Default: every key.", DefaultValueFactory = _ => "*" };
        var command = new Command("report", "A compliance report an auditor can read without any other tool: per key its policy and cryptoperiod, rotations, every version's history (who, when, why), the inventory, the evidence recorded when a version was destroyed, and the audit log's verification. --format markdown (default for people), json or html (one self-contained page to print).") { key };
        command.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            var pattern = KeyPattern.TryParse(parse.GetValue(key), out var parsed) ? parsed : throw new UsageException($"--key '{parse.GetValue(key)}' is not a key name or pattern.");
            var format = parse.GetValue(globals.Format) switch
            {
                OutputFormat.Json => "json",
                OutputFormat.Html => "html",
                _ => "markdown",
            };
            string text;
            if (GlobalOptions.ServerAddress() is { } address)
            {
                using var client = GlobalOptions.OpenClient(address);
                text = await client.GetReportAsync(pattern.ToString(), format, ct).ConfigureAwait(false);
            }
            else
            {
                var home = StoreHome.Open(parse.GetValue(globals.Dir)!);
                await using var stack = await home.OpenServiceAsync(null, ct).ConfigureAwait(false);
                var store = stack.Store;
                var reports = new ComplianceReports(
                    stack.Service,
                    new LifecyclePolicies(stack.Service, (ILifecycleStore)store),
                    (ILifecycleStore)store,
                    (IRewrapJobStore)store,
                    (IAuditCheckpointStore)store);
                text = ComplianceReportFormats.Write(await reports.BuildAsync(pattern, cancellationToken: ct).ConfigureAwait(false), format).Text;
            }

            await globals.Stdout.WriteAsync(text).ConfigureAwait(false);
            return ExitCodes.Ok;
        }));
        return command;
    }
}
