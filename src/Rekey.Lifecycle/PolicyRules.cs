using System.Globalization;
using Cronos;
using Rekey.Errors;
using Rekey.Rewrap;

namespace Rekey.Lifecycle;

/// <summary>Checks a policy before it is stored; every problem is named in one <c>InvalidRequest</c>.</summary>
internal static class PolicyRules
{
    public static void Validate(LifecyclePolicy policy, LifecycleOptions options)
    {
        var problems = new List<string>();
        void Positive(TimeSpan? value, string name)
        {
            if (value is { } v && v <= TimeSpan.Zero)
            {
                problems.Add($"{name} must be more than zero.");
            }
        }

        void Period(TimeSpan? value, string name)
        {
            if (value is { } v && v > TimeSpan.Zero && v < options.MinimumPeriod)
            {
                problems.Add($"{name} is {DurationText.Format(v)}, under the minimum of {DurationText.Format(options.MinimumPeriod)} (only the dev server accepts shorter periods).");
            }
        }

        Positive(policy.RotateEvery, "rotate_every");
        Period(policy.RotateEvery, "rotate_every");
        Positive(policy.VersionLifetime, "version_lifetime");
        Period(policy.VersionLifetime, "version_lifetime");
        Positive(policy.PendingFor, "pending");
        Positive(policy.RetainFor, "retain");
        if (policy.RotateBeforeExpiry is { } lead)
        {
            if (policy.VersionLifetime is null)
            {
                problems.Add("rotate_before_expiry needs version_lifetime in the same policy.");
            }
            else if (lead >= policy.VersionLifetime)
            {
                problems.Add("rotate_before_expiry must be shorter than version_lifetime.");
            }
        }

        if (policy.MaxEncryptions is <= 0)
        {
            problems.Add("max_encryptions must be at least 1.");
        }

        if (policy.KeepVersions is < 1)
        {
            problems.Add("keep_versions must be at least 1 (the Active version).");
        }

        if (policy.RewrapRowsPerSecond is < 0)
        {
            problems.Add("rewrap_rows_per_second cannot be negative.");
        }

        var zone = Zone(policy.TimeZone, problems);
        if (policy.Cron is { } cron && Cron(cron, problems) is { } expression && zone is not null
            && expression.GetNextOccurrence(DateTimeOffset.UnixEpoch.AddYears(56), zone) is null)
        {
            problems.Add($"cron '{cron}' never fires.");
        }

        if (policy.RewrapWindow is { } window && !TryParseWindow(window, out _, out _))
        {
            problems.Add($"rewrap_window '{window}' is not HH:mm-HH:mm (for example 01:00-05:00).");
        }

        if (policy.RewrapContextForm is { } form && ContextFormOf(form) is null)
        {
            problems.Add($"rewrap_context_form '{form}' is neither text nor pairs.");
        }
        else if (policy.RewrapContextTemplate is { } template)
        {
            try
            {
                RewrapJobs.CheckContextTemplate(template, ContextFormOf(policy.RewrapContextForm) ?? ContextForm.Text);
            }
            catch (RekeyException e)
            {
                problems.Add("rewrap_context_template: " + e.Message);
            }
        }

        foreach (var operation in policy.RequireApproval ?? [])
        {
            if (!Approvals.ApprovalOperations.All.Contains(operation))
            {
                problems.Add($"require_approval names '{operation}', which is none of: {string.Join(", ", Approvals.ApprovalOperations.All.Order(StringComparer.Ordinal))}.");
            }
        }

        if (policy.ApprovalsRequired is < 1 or > 10)
        {
            problems.Add("approvals_required must be from 1 to 10 (approvers besides the requester).");
        }

        if (policy.ApprovalExpiresAfter is { } expiry && (expiry < TimeSpan.FromMinutes(1) || expiry > TimeSpan.FromDays(30)))
        {
            problems.Add("approval_expires must be from 1 minute to 30 days.");
        }

        if (policy.Destroy == true && policy.RetainFor is null && policy.UntilReencrypted != true)
        {
            problems.Add("destroy needs a retention rule in the same policy: retain (a minimum time) or until_reencrypted, so no version is destroyed the moment it stops being Active.");
        }

        if (problems.Count > 0)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, "The policy is not valid: " + string.Join(" ", problems.Distinct()));
        }
    }

    /// <summary>The context form a policy names (text when unset), or null for an unknown one.</summary>
    public static ContextForm? ContextFormOf(string? form) => form switch
    {
        null or "text" => ContextForm.Text,
        "pairs" => ContextForm.Pairs,
        _ => null,
    };

    /// <summary>The cron expression: five fields, or six with seconds first.</summary>
    public static CronExpression? Cron(string text, List<string>? problems = null)
    {
        try
        {
            var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
            return CronExpression.Parse(text, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException e)
        {
            problems?.Add($"cron '{text}' is not valid: {e.Message}");
            return null;
        }
    }

    /// <summary>The time zone, UTC when unset.</summary>
    public static TimeZoneInfo? Zone(string? id, List<string>? problems = null)
    {
        if (id is null)
        {
            return TimeZoneInfo.Utc;
        }

        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            problems?.Add($"time_zone '{id}' is not a known time zone (use an IANA name such as Europe/Berlin).");
            return null;
        }
    }

    /// <summary>Parses <c>HH:mm-HH:mm</c>; the window may cross midnight (<c>22:00-04:00</c>).</summary>
    public static bool TryParseWindow(string text, out TimeOnly from, out TimeOnly to)
    {
        from = to = default;
        var parts = text.Split('-');
        return parts.Length == 2
            && TimeOnly.TryParseExact(parts[0], "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out from)
            && TimeOnly.TryParseExact(parts[1], "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out to)
            && from != to;
    }

    /// <summary>True when <paramref name="now"/>, read in <paramref name="zone"/>, falls in the window.</summary>
    public static bool InWindow(string? window, TimeZoneInfo zone, DateTimeOffset now)
    {
        if (window is null || !TryParseWindow(window, out var from, out var to))
        {
            return true;
        }

        var local = TimeOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, zone).DateTime);
        return from < to ? local >= from && local < to : local >= from || local < to;
    }
}
