using Rekey.Access;
using Rekey.Keys;

namespace Rekey.Lifecycle;

/// <summary>
/// Merges the policies that match a key, field by field: each field comes from the most specific
/// pattern that sets it (an exact name, then the longest <c>prefix/*</c>, then <c>*</c>).
/// </summary>
internal static class PolicyResolver
{
    /// <summary>The merged policy and, per field set, the pattern it came from.</summary>
    public static (LifecyclePolicy Policy, Dictionary<string, string> Sources) Resolve(KeyName key, IEnumerable<PolicyEntry> entries)
    {
        var matching = entries
            .Where(e => KeyPattern.Parse(e.Pattern).Matches(key))
            .OrderByDescending(e => Specificity(e.Pattern))
            .ToList();
        var sources = new Dictionary<string, string>(StringComparer.Ordinal);
        T? Pick<T>(string field, Func<LifecyclePolicy, T?> get)
            where T : struct
        {
            foreach (var entry in matching)
            {
                if (get(entry.Policy) is { } value)
                {
                    sources[field] = entry.Pattern;
                    return value;
                }
            }

            return null;
        }

        string? PickText(string field, Func<LifecyclePolicy, string?> get)
        {
            foreach (var entry in matching)
            {
                if (get(entry.Policy) is { } value)
                {
                    sources[field] = entry.Pattern;
                    return value;
                }
            }

            return null;
        }

        var policy = new LifecyclePolicy
        {
            RotateEvery = Pick("rotate_every_seconds", p => p.RotateEvery),
            VersionLifetime = Pick("version_lifetime_seconds", p => p.VersionLifetime),
            RotateBeforeExpiry = Pick("rotate_before_expiry_seconds", p => p.RotateBeforeExpiry),
            Cron = PickText("cron", p => p.Cron),
            TimeZone = PickText("time_zone", p => p.TimeZone),
            MaxEncryptions = Pick("max_encryptions", p => p.MaxEncryptions),
            PendingFor = Pick("pending_seconds", p => p.PendingFor),
            RetainFor = Pick("retain_seconds", p => p.RetainFor),
            KeepVersions = Pick("keep_versions", p => p.KeepVersions),
            UntilReencrypted = Pick("until_reencrypted", p => p.UntilReencrypted),
            DisabledFor = Pick("disabled_seconds", p => p.DisabledFor),
            Destroy = Pick("destroy", p => p.Destroy),
            AutoRewrap = Pick("auto_rewrap", p => p.AutoRewrap),
            RewrapRowsPerSecond = Pick("rewrap_rows_per_second", p => p.RewrapRowsPerSecond),
            RewrapWindow = PickText("rewrap_window", p => p.RewrapWindow),
            RewrapContextTemplate = PickText("rewrap_context_template", p => p.RewrapContextTemplate),
            RewrapContextForm = PickText("rewrap_context_form", p => p.RewrapContextForm),
        };

        // Approval rules add up across every matching policy (ApprovalRule.With): no narrower
        // pattern can loosen a broader one, so each field lists every pattern it came from.
        var approving = matching.Where(e => e.Policy.RequireApproval is { Count: > 0 }).ToList();
        if (approving.Count > 0)
        {
            var from = string.Join(",", approving.Select(e => e.Pattern));
            sources["require_approval"] = from;
            sources["approvals_required"] = from;
            sources["approval_expires_seconds"] = from;
            policy = policy with
            {
                RequireApproval = approving.SelectMany(e => e.Policy.RequireApproval!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList(),
                ApprovalsRequired = approving.Max(e => e.Policy.ApprovalsRequired ?? 1),
                ApprovalExpiresAfter = approving.Min(e => e.Policy.ApprovalExpiresAfter ?? Approvals.ApprovalRule.DefaultExpiry),
            };
        }

        return (policy, sources);
    }

    /// <summary>
    /// Who acts for a field: <c>policy:&lt;pattern&gt;</c>, the actor of the audit events it causes
    /// (the most specific matching policy when the field is not set; <c>scheduler</c> when none matches).
    /// </summary>
    public static string Actor(IReadOnlyDictionary<string, string> sources, string field) =>
        sources.TryGetValue(field, out var pattern) ? "policy:" + pattern
        : sources.Where(s => !s.Key.Contains("approval", StringComparison.Ordinal)).Select(s => s.Value).MaxBy(Specificity) is { } broadest ? "policy:" + broadest
        : "scheduler";

    // An exact name beats any subtree, a longer subtree beats a shorter one, and '*' comes last.
    private static int Specificity(string pattern) =>
        pattern == "*" ? 0 : pattern.EndsWith("/*", StringComparison.Ordinal) ? pattern.Length : int.MaxValue;
}
