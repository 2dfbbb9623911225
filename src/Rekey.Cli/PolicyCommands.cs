using System.CommandLine;
using System.Globalization;
using Rekey.Api;
using Rekey.Lifecycle;

namespace Rekey.Cli;

/// <summary><c>rekey policy set|show|unset|list</c>: lifecycle policies per key-name pattern.</summary>
internal static class PolicyCommands
{
    public static Command Build(GlobalOptions globals)
    {
        var policy = new Command("policy", "Lifecycle policies: when keys rotate, and how their old versions are retired and destroyed.");
        policy.Subcommands.Add(Set(globals));
        policy.Subcommands.Add(Show(globals));
        policy.Subcommands.Add(List(globals));
        policy.Subcommands.Add(Unset(globals));
        return policy;
    }

    private static Command Set(GlobalOptions globals)
    {
        var pattern = new Argument<string>("pattern") { Description = "Keys it applies to: an exact name, 'prefix/*' or '*'; a key takes each field from its most specific pattern." };
        var rotateEvery = new Option<string?>("--rotate-every") { Description = "Periodic trigger: rotate when the Active version is this old (for example 90d)." };
        var lifetime = new Option<string?>("--version-lifetime") { Description = "A version expires this long after it became Active." };
        var before = new Option<string?>("--rotate-before-expiry") { Description = "Rotate this long before the Active version expires (needs --version-lifetime)." };
        var cron = new Option<string?>("--cron") { Description = "Cron trigger: five fields, or six with seconds first ('0 3 * * *')." };
        var zone = new Option<string?>("--time-zone") { Description = "IANA time zone of --cron and --rewrap-window (default UTC)." };
        var maxEncryptions = new Option<string?>("--max-encryptions") { Description = "Usage trigger: rotate when the Active version has encrypted this many times; 'default' for 2^30 (a quarter of the NIST SP 800-38D random-nonce limit)." };
        var pending = new Option<string?>("--pending") { Description = "Staged activation: new versions start Pending and become Active after this delay." };
        var retain = new Option<string?>("--retain") { Description = "Minimum retention: keep a version decryptable this long after it stops being Active." };
        var keep = new Option<int?>("--keep-versions") { Description = "Keep the newest N versions (the Active one included) decryptable." };
        var until = new Option<bool>("--until-reencrypted") { Description = "Move a version on only when the inventory shows no value under it in any registered source." };
        var disabledFor = new Option<string?>("--disabled-for") { Description = "How long a version stays Disabled (reversible) before its destruction is scheduled (default 0)." };
        var destroy = new Option<bool>("--destroy") { Description = "Go on to destroy old versions (after the key's destruction delay); needs --retain or --until-reencrypted." };
        var autoRewrap = new Option<bool>("--auto-rewrap") { Description = "After a rotation, start re-wrap jobs over every registered source that holds the key." };
        var throttle = new Option<int?>("--rewrap-throttle") { Description = "Rows per second for those jobs (default: unthrottled)." };
        var window = new Option<string?>("--rewrap-window") { Description = "When those jobs may run, HH:mm-HH:mm (for example 01:00-05:00); they pause outside it." };
        var contextTemplate = new Option<string?>("--rewrap-context-template") { Description = "Each record's encryption context with {id} for its id: those jobs then decrypt a sample of what they moved." };
        var contextForm = new Option<string?>("--rewrap-context-form") { Description = "text (default) or pairs: the template's form, as the application encrypted with." };
        var requireApproval = new Option<string[]>("--require-approval") { Description = "Dual control: operations that wait for approvers (destroy, disable, schedule-destroy, delete-key, key-config, policy, admin-token, root, rotate; repeat for several).", AllowMultipleArgumentsPerToken = true };
        var approvals = new Option<int?>("--approvals-required") { Description = "Approvers needed besides the requester (default 1)." };
        var approvalExpires = new Option<string?>("--approval-expires") { Description = "How long a request waits for its approvers (default 24h)." };
        var reason = new Option<string?>("--reason") { Description = "Recorded in the audit log." };
        var command = new Command("set", "Set (or replace) the policy on a pattern (key officer). Applied by the server's scheduler.")
        {
            pattern, rotateEvery, lifetime, before, cron, zone, maxEncryptions, pending, retain, keep, until, disabledFor, destroy, autoRewrap, throttle, window, contextTemplate, contextForm, requireApproval, approvals, approvalExpires, reason,
        };
        command.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            var value = new LifecyclePolicy
            {
                RotateEvery = Duration(parse.GetValue(rotateEvery)),
                VersionLifetime = Duration(parse.GetValue(lifetime)),
                RotateBeforeExpiry = Duration(parse.GetValue(before)),
                Cron = parse.GetValue(cron),
                TimeZone = parse.GetValue(zone),
                MaxEncryptions = Count(parse.GetValue(maxEncryptions)),
                PendingFor = Duration(parse.GetValue(pending)),
                RetainFor = Duration(parse.GetValue(retain)),
                KeepVersions = parse.GetValue(keep),
                UntilReencrypted = parse.GetValue(until) ? true : null,
                DisabledFor = Duration(parse.GetValue(disabledFor)),
                Destroy = parse.GetValue(destroy) ? true : null,
                AutoRewrap = parse.GetValue(autoRewrap) ? true : null,
                RewrapRowsPerSecond = parse.GetValue(throttle),
                RewrapWindow = parse.GetValue(window),
                RewrapContextTemplate = parse.GetValue(contextTemplate),
                RewrapContextForm = parse.GetValue(contextForm),
                RequireApproval = parse.GetValue(requireApproval) is { Length: > 0 } operations ? operations : null,
                ApprovalsRequired = parse.GetValue(approvals),
                ApprovalExpiresAfter = Duration(parse.GetValue(approvalExpires)),
            };
            if (value == new LifecyclePolicy())
            {
                throw new UsageException("Give at least one rule, for example --rotate-every 90d (see rekey policy set --help).");
            }

            await using var backend = await RemoteLifecycleBackend.OpenAsync(globals, parse, ct).ConfigureAwait(false);
            var set = await backend.SetPolicyAsync(new PolicySetRequest(Pattern(parse.GetValue(pattern)!), value, parse.GetValue(reason)), ct).ConfigureAwait(false);
            globals.OutputFor(parse).Policies([set]);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Show(GlobalOptions globals)
    {
        var key = new Argument<string>("key") { Description = "A key name: shows the policy it follows, each field with the pattern it came from." };
        var command = new Command("show", "Show a key's effective policy and when the scheduler looks at it next.") { key };
        command.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            await using var backend = await RemoteLifecycleBackend.OpenAsync(globals, parse, ct).ConfigureAwait(false);
            globals.OutputFor(parse).Effective(await backend.EffectiveAsync(CliApp.ParseKeyName(parse.GetValue(key)!), ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command List(GlobalOptions globals)
    {
        var command = new Command("list", "List the policies, by pattern.");
        command.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            await using var backend = await RemoteLifecycleBackend.OpenAsync(globals, parse, ct).ConfigureAwait(false);
            globals.OutputFor(parse).Policies(await backend.ListPoliciesAsync(ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Unset(GlobalOptions globals)
    {
        var pattern = new Argument<string>("pattern") { Description = "The pattern whose policy to remove." };
        var reason = new Option<string?>("--reason") { Description = "Recorded in the audit log." };
        var command = new Command("unset", "Remove the policy on a pattern (key officer).") { pattern, reason };
        command.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            var value = Pattern(parse.GetValue(pattern)!);
            await using var backend = await RemoteLifecycleBackend.OpenAsync(globals, parse, ct).ConfigureAwait(false);
            await backend.UnsetPolicyAsync(value, parse.GetValue(reason), ct).ConfigureAwait(false);
            globals.OutputFor(parse).Message($"Removed the policy on '{value}'.", new { removed = value });
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static string Pattern(string text) =>
        Access.KeyPattern.TryParse(text, out _) ? text : throw new UsageException($"'{text}' is not a key pattern: use an exact key name, 'prefix/*' or '*'.");

    private static long? Count(string? text) =>
        text is null ? null
        : text == "default" ? LifecyclePolicy.DefaultMaxEncryptions
        : long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
        : throw new UsageException($"'{text}' is not a count (a whole number, or 'default').");

    private static TimeSpan? Duration(string? text) =>
        text is null ? null
        : Durations.TryParse(text, out var d) ? d
        : throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"'{text}' is not a duration like 30s, 15m, 24h or 7d."));
}
