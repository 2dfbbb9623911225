using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Rekey.Audit;
using Rekey.Keys;
using Spectre.Console;

namespace Rekey.Cli;

/// <summary>How results are printed: human tables, or JSON for scripts.</summary>
internal enum OutputFormat
{
    Table,
    Json,

    /// <summary>For <c>rekey report</c> only.</summary>
    Markdown,

    /// <summary>For <c>rekey report</c> only.</summary>
    Html,
}

/// <summary>Prints results to standard output in the chosen format. Never prints key material.</summary>
internal sealed class Output
{
    // C0 controls, DEL and C1 controls: what a terminal may act on.
    private static readonly System.Buffers.SearchValues<char> ControlCharacters = System.Buffers.SearchValues.Create(
        string.Concat(Enumerable.Range(0, 0x20).Concat([0x7f]).Concat(Enumerable.Range(0x80, 0x20)).Select(c => (char)c)));

    // The API's field names (snake_case), so a script reads the CLI's JSON and the server's alike.
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly IAnsiConsole _console;

    public Output(OutputFormat format, TextWriter writer)
    {
        Format = format;
        _console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = System.Console.IsOutputRedirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = System.Console.IsOutputRedirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
        });
        if (System.Console.IsOutputRedirected)
        {
            // Not a terminal: do not wrap tables at 80 columns.
            _console.Profile.Width = 240;
        }
    }

    public OutputFormat Format { get; }

    /// <summary>The console this output writes to (for live displays such as progress bars).</summary>
    public IAnsiConsole Console => _console;

    public void Job(Rekey.Api.RewrapJobResource job)
    {
        if (Format == OutputFormat.Json)
        {
            WriteJson(job);
            return;
        }

        var table = new Table().AddColumns("Job", job.Id).HideHeaders();
        table.AddRow("key", Esc(job.Key));
        table.AddRow("source", Esc(job.Source));
        table.AddRow("state", job.State);
        table.AddRow("mode", job.Mode);
        table.AddRow("target version", Num(job.TargetVersion));
        table.AddRow("pass", Num(job.Pass));
        table.AddRow("done / total", $"{Num(job.Done)} / {Num(job.Total)}");
        table.AddRow("moved", Num(job.Rewrapped));
        table.AddRow("already current", Num(job.AlreadyCurrent));
        table.AddRow("skipped (changed meanwhile)", Num(job.Skipped));
        table.AddRow("failed", Num(job.Failed));
        table.AddRow("rows/s", job.RowsPerSecond.ToString("N0", CultureInfo.InvariantCulture));
        table.AddRow("ETA", job.EtaSeconds is { } eta ? TimeSpan.FromSeconds(Math.Round(eta)).ToString() : string.Empty);
        table.AddRow("per version (this pass)", Esc(string.Join(", ", job.PerVersion.Select(p => $"v{p.Key}: {p.Value}"))));
        table.AddRow("verification", Esc(job.Verification ?? string.Empty));
        table.AddRow("error", Esc(job.Error ?? string.Empty));
        table.AddRow("started", Time(job.StartedAt));
        table.AddRow("finished", Time(job.FinishedAt));
        _console.Write(table);
    }

    public void Source(Rekey.Api.DataSourceResource source)
    {
        if (Format == OutputFormat.Json)
        {
            WriteJson(source);
            return;
        }

        Sources([source]);
    }

    public void Sources(IEnumerable<Rekey.Api.DataSourceResource> sources)
    {
        var list = sources.ToList();
        if (Format == OutputFormat.Json)
        {
            WriteJson(list);
            return;
        }

        var table = new Table().AddColumns("Source", "Kind", "Table", "Id", "Columns", "Filter", "Keys", "Registered");
        foreach (var s in list)
        {
            table.AddRow(
                Esc(s.Name),
                s.Kind,
                Esc(s.Table),
                Esc($"{s.IdColumn} ({s.IdType})"),
                Esc(string.Join(", ", s.Columns.Select(c => c.Format == "bytes" ? c.Name + ":bytes" : c.Name))),
                Esc(s.FilterColumn is null ? string.Empty : $"{s.FilterColumn}={s.FilterValue}"),
                Esc(string.Join(", ", s.Keys)),
                Time(s.CreatedAt));
        }

        _console.Write(table);
    }

    public void Jobs(IEnumerable<Rekey.Api.RewrapJobResource> jobs)
    {
        var list = jobs.ToList();
        if (Format == OutputFormat.Json)
        {
            WriteJson(list);
            return;
        }

        var table = new Table().AddColumns("Job", "Key", "State", "Target", "Pass", "Done", "Total", "Moved", "Failed", "Started");
        foreach (var j in list)
        {
            table.AddRow(Esc(j.Id), Esc(j.Key), j.State, Num(j.TargetVersion), Num(j.Pass), Num(j.Done), Num(j.Total), Num(j.Rewrapped), Num(j.Failed), Time(j.StartedAt));
        }

        _console.Write(table);
    }

    public void Failures(IEnumerable<Rekey.Api.RewrapFailureResource> failures)
    {
        var list = failures.ToList();
        if (Format == OutputFormat.Json)
        {
            WriteJson(list);
            return;
        }

        var table = new Table().AddColumns("Record", "Column", "Version", "Reason", "Found");
        foreach (var f in list)
        {
            table.AddRow(Esc(f.RecordId), Esc(f.Column), Num(f.Version), Esc(f.Reason), Time(f.At));
        }

        _console.Write(table);
    }

    public void Inventory(IEnumerable<Rekey.Api.InventoryResource> counts)
    {
        var list = counts.ToList();
        if (Format == OutputFormat.Json)
        {
            WriteJson(list);
            return;
        }

        var table = new Table().AddColumns("Source", "Version", "Values", "Counted");
        foreach (var c in list)
        {
            table.AddRow(Esc(c.Source), Num(c.Version), Num(c.Count), Time(c.CountedAt));
        }

        _console.Write(table);
    }

    public void Keys(IEnumerable<KeyInfo> keys)
    {
        var list = keys.Select(KeyView.From).ToList();
        if (Format == OutputFormat.Json)
        {
            WriteJson(list);
            return;
        }

        var table = new Table().AddColumns("Key", "Active", "Latest", "Min decrypt", "Destruction delay", "Created");
        foreach (var k in list)
        {
            table.AddRow(Esc(k.Name), Num(k.ActiveVersion), Num(k.LatestVersion), Num(k.MinDecryptionVersion), Esc(k.DestructionDelay), Time(k.CreatedAt));
        }

        _console.Write(table);
    }

    public void Key(KeyInfo key, IReadOnlyList<KeyVersionInfo> versions)
    {
        var view = KeyView.From(key) with { Versions = versions.Select(VersionView.From).ToList() };
        if (Format == OutputFormat.Json)
        {
            WriteJson(view);
            return;
        }

        _console.WriteLine($"Key {key.Name}: active version {key.ActiveVersion}, minimum decryption version {key.MinDecryptionVersion}, destruction delay {view.DestructionDelay}");
        Versions(versions);
    }

    public void Version(KeyVersionInfo version)
    {
        if (Format == OutputFormat.Json)
        {
            WriteJson(VersionView.From(version));
            return;
        }

        Versions([version]);
    }

    public void Audit(IEnumerable<AuditEvent> events)
    {
        // The API's shape, so the CLI's JSON and the server's are the same.
        var list = events.Select(Rekey.Api.ApiMapping.ToResource).ToList();
        if (Format == OutputFormat.Json)
        {
            WriteJson(list);
            return;
        }

        var table = new Table().AddColumns("Seq", "Time", "Actor", "Action", "Key", "From", "To", "Outcome", "Details", "Reason", "Request", "Client");
        foreach (var e in list)
        {
            var actor = e.PresentedTokenId is { } presented ? $"{e.Actor} (presented {presented})" : e.Actor;
            table.AddRow(
                Num(e.Sequence),
                Time(e.Time),
                Esc(actor),
                Esc(e.Action),
                Esc(e.Key ?? string.Empty),
                Num(e.FromVersion),
                Num(e.ToVersion),
                Esc(e.Outcome),
                Esc(e.Details ?? string.Empty),
                Esc(e.Reason ?? string.Empty),
                Esc(e.RequestId ?? string.Empty),
                Esc(e.Client ?? string.Empty));
        }

        _console.Write(table);
    }

    public void Verification(AuditVerification result)
    {
        if (Format == OutputFormat.Json)
        {
            WriteJson(new
            {
                valid = result.IsValid,
                events = result.EventCount,
                checkpoints = result.CheckpointCount,
                witnessed = result.WitnessedCount,
                keysPinned = result.KeysPinned,
                signingKeysProven = result.SigningKeysProven,
                head = result.Head?.ToString(),
                failedAtSequence = result.FailedAtSequence,
                problem = result.Problem,
            });
            return;
        }

        if (result.IsValid)
        {
            var checkpoints = result.CheckpointCount == 1 ? "1 signed checkpoint" : $"{result.CheckpointCount} signed checkpoints";
            _console.WriteLine($"Audit log OK: {result.EventCount} events, {checkpoints} verified.");
            if (result.WitnessedCount > 0)
            {
                _console.WriteLine($"{result.WitnessedCount} of them from the witness outside the store.");
            }

            _console.WriteLine(result.KeysPinned
                ? "Checkpoints were checked against the pinned public key (and keys it endorsed)."
                : "Checkpoints were checked against keys read from the store itself; pin the key with --public-key to protect against whoever can write the store.");
            _console.WriteLine($"Head: {result.Head?.ToString() ?? "(empty)"}");
            _console.WriteLine("Keep the head elsewhere; pass it to 'rekey audit verify --head' to detect a truncated log.");
        }
        else
        {
            _console.WriteLine($"Audit log INVALID: {result.Problem}");
        }
    }

    public void Tokens(IEnumerable<Rekey.Api.TokenResource> tokens)
    {
        var list = tokens.ToList();
        if (Format == OutputFormat.Json)
        {
            WriteJson(list);
            return;
        }

        var table = new Table().AddColumns("Id", "Name", "Roles", "Key patterns", "Created", "Expires", "Revoked");
        foreach (var t in list)
        {
            table.AddRow(Esc(t.Id), Esc(t.Name), Esc(string.Join(", ", t.Roles)), Esc(string.Join(", ", t.KeyPatterns)), Time(t.CreatedAt), Time(t.ExpiresAt), Time(t.RevokedAt));
        }

        _console.Write(table);
    }

    public void Policies(IEnumerable<Rekey.Api.PolicyResource> policies)
    {
        var list = policies.ToList();
        if (Format == OutputFormat.Json)
        {
            WriteJson(list);
            return;
        }

        var table = new Table().AddColumns("Pattern", "Rules", "Updated");
        foreach (var p in list)
        {
            table.AddRow(Esc(p.Pattern), Esc(string.Join(", ", Rules(p.Policy).Select(r => $"{r.Name} {r.Value}"))), Time(p.UpdatedAt));
        }

        _console.Write(table);
    }

    public void Effective(Rekey.Api.EffectivePolicyResource effective)
    {
        if (Format == OutputFormat.Json)
        {
            WriteJson(effective);
            return;
        }

        var table = new Table().AddColumns("Rule", "Value", "From pattern");
        foreach (var (name, field, value) in Rules(effective.Policy))
        {
            table.AddRow(Esc(name), Esc(value), Esc(effective.Sources.GetValueOrDefault(field) ?? string.Empty));
        }

        _console.WriteLine($"Key {Printable(effective.Key)}: " + (effective.NextDue is { } due ? "the scheduler looks at it next at " + Time(due) : "no policy applies; the scheduler leaves it alone"));
        _console.Write(table);
        foreach (var (version, why) in (effective.Waiting ?? new Dictionary<int, string>()).OrderBy(w => w.Key))
        {
            _console.WriteLine($"  version {version}: {Printable(why)}");
        }

        if (effective.LastAction is { } last)
        {
            _console.WriteLine("  last: " + Printable(last));
        }
    }

    public void Rotations(IEnumerable<Rekey.Api.RotationResource> rotations)
    {
        var list = rotations.ToList();
        if (Format == OutputFormat.Json)
        {
            WriteJson(list);
            return;
        }

        var table = new Table().AddColumns("Rotation", "Key", "Versions", "Cause", "Phase", "Created", "Note");
        foreach (var r in list)
        {
            table.AddRow(Esc(r.Id), Esc(r.Key), $"{r.FromVersion} -> {r.ToVersion}", Esc(r.Cause), r.Phase, Time(r.CreatedAt), Esc(r.Note ?? string.Empty));
        }

        _console.Write(table);
    }

    public void Rotation(Rekey.Api.RotationResource r)
    {
        if (Format == OutputFormat.Json)
        {
            WriteJson(r);
            return;
        }

        var table = new Table().AddColumns("Rotation", r.Id).HideHeaders();
        table.AddRow("key", Esc(r.Key));
        table.AddRow("versions", $"{r.FromVersion} -> {r.ToVersion}");
        table.AddRow("cause", Esc(r.Cause));
        table.AddRow("phase", r.Phase);
        foreach (var (phase, at) in r.PhaseTimes.OrderBy(p => p.Value))
        {
            table.AddRow("  " + Esc(phase), Time(at));
        }

        foreach (var job in r.Jobs)
        {
            table.AddRow("job " + Esc(job.JobId), Esc($"{job.Source}: {job.State}, {job.Rewrapped} moved, {job.Failed} failed"));
        }

        foreach (var (source, left) in r.Remaining)
        {
            table.AddRow("left in " + Esc(source), left is { } n ? Num(n) + " under older versions" : "not counted since the rotation");
        }

        table.AddRow("note", Esc(r.Note ?? string.Empty));
        _console.Write(table);
    }

    // A policy's rules as the CLI's options name them, with durations written back as 90d, 24h.
    private static IEnumerable<(string Name, string Field, string Value)> Rules(Rekey.Lifecycle.LifecyclePolicy p)
    {
        static string D(TimeSpan t) => Rekey.DurationText.Format(t);
        if (p.RotateEvery is { } every) yield return ("rotate-every", "rotate_every_seconds", D(every));
        if (p.VersionLifetime is { } lifetime) yield return ("version-lifetime", "version_lifetime_seconds", D(lifetime));
        if (p.RotateBeforeExpiry is { } before) yield return ("rotate-before-expiry", "rotate_before_expiry_seconds", D(before));
        if (p.Cron is { } cron) yield return ("cron", "cron", cron);
        if (p.TimeZone is { } zone) yield return ("time-zone", "time_zone", zone);
        if (p.MaxEncryptions is { } max) yield return ("max-encryptions", "max_encryptions", Num(max));
        if (p.PendingFor is { } pending) yield return ("pending", "pending_seconds", D(pending));
        if (p.RetainFor is { } retain) yield return ("retain", "retain_seconds", D(retain));
        if (p.KeepVersions is { } keep) yield return ("keep-versions", "keep_versions", Num(keep));
        if (p.UntilReencrypted is { } until) yield return ("until-reencrypted", "until_reencrypted", until ? "yes" : "no");
        if (p.DisabledFor is { } disabled) yield return ("disabled-for", "disabled_seconds", D(disabled));
        if (p.Destroy is { } destroy) yield return ("destroy", "destroy", destroy ? "yes" : "no");
        if (p.AutoRewrap is { } auto) yield return ("auto-rewrap", "auto_rewrap", auto ? "yes" : "no");
        if (p.RewrapRowsPerSecond is { } throttle) yield return ("rewrap-throttle", "rewrap_rows_per_second", Num(throttle));
        if (p.RewrapWindow is { } window) yield return ("rewrap-window", "rewrap_window", window);
        if (p.RewrapContextTemplate is { } template) yield return ("rewrap-context-template", "rewrap_context_template", template);
        if (p.RewrapContextForm is { } form) yield return ("rewrap-context-form", "rewrap_context_form", form);
        if (p.RequireApproval is { Count: > 0 } held) yield return ("require-approval", "require_approval", string.Join(",", held));
        if (p.ApprovalsRequired is { } needed) yield return ("approvals-required", "approvals_required", Num(needed));
        if (p.ApprovalExpiresAfter is { } expires) yield return ("approval-expires", "approval_expires_seconds", D(expires));
    }

    public void Roots(IEnumerable<RootStatusRow> roots)
    {
        var list = roots.ToList();
        if (Format == OutputFormat.Json)
        {
            WriteJson(list);
            return;
        }

        var table = new Table().AddColumns("Root", "Configured as", "Key versions", "Signing keys", "Data sources", "Import keys");
        foreach (var r in list)
        {
            table.AddRow(Esc(r.RootKeyId), Esc(r.Role), Num(r.KeyVersions), Num(r.SigningKeys), Num(r.DataSources), Num(r.ImportKeys));
        }

        _console.Write(table);
    }

    public void Approvals(IEnumerable<Rekey.Api.ApprovalResource> approvals)
    {
        var list = approvals.ToList();
        if (Format == OutputFormat.Json)
        {
            WriteJson(list);
            return;
        }

        var table = new Table().AddColumns("Id", "State", "Operation", "Requested by", "Approvals", "Created", "Expires");
        foreach (var a in list)
        {
            var approved = a.Votes.Count(v => v.Decision == "approve");
            table.AddRow(Esc(a.Id), Esc(a.State), Esc(a.Summary), Esc(a.Requester), $"{approved}/{a.Required}", Time(a.CreatedAt), Time(a.ExpiresAt));
        }

        _console.Write(table);
    }

    public void Approval(Rekey.Api.ApprovalResource a)
    {
        if (Format == OutputFormat.Json)
        {
            WriteJson(a);
            return;
        }

        var grid = new Grid().AddColumn().AddColumn();
        grid.AddRow("Approval", Esc(a.Id));
        grid.AddRow("State", Esc(a.State));
        grid.AddRow("Operation", Esc(a.Summary));
        grid.AddRow("Request hash", Esc(a.RequestHash));
        grid.AddRow("Requested by", Esc(a.Requester) + (a.Reason is null ? string.Empty : " (" + Esc(a.Reason) + ")"));
        grid.AddRow("Approvals needed", Num(a.Required));
        grid.AddRow("Created", Time(a.CreatedAt));
        grid.AddRow("Expires", Time(a.ExpiresAt));
        grid.AddRow("Decided", Time(a.DecidedAt));
        foreach (var v in a.Votes)
        {
            grid.AddRow(v.Decision == "approve" ? "Approved by" : "Denied by", Esc(v.Approver) + " at " + Time(v.At) + (v.Comment is null ? string.Empty : ": " + Esc(v.Comment)));
        }

        if (a.Result is not null)
        {
            grid.AddRow("Result", Esc(a.Result));
        }

        _console.Write(grid);
    }

    public void Message(string text, object json)
    {
        if (Format == OutputFormat.Json)
        {
            WriteJson(json);
        }
        else
        {
            _console.WriteLine(text);
        }
    }

    private void Versions(IEnumerable<KeyVersionInfo> versions)
    {
        var table = new Table().AddColumns("Version", "State", "Origin", "Created", "Activated", "Deactivated", "Retire deadline", "Destroy after", "Destroyed", "Encrypts", "Decrypts");
        foreach (var v in versions)
        {
            table.AddRow(Num(v.Version), v.State.ToString(), v.Origin == KeyVersionOrigin.Imported ? "imported" : "generated", Time(v.CreatedAt), Time(v.ActivatedAt), Time(v.DeactivatedAt), Time(v.RetireDeadline), Time(v.DestroyAfter), Time(v.DestroyedAt), Num(v.EncryptCount), Num(v.DecryptCount));
        }

        _console.Write(table);
    }

    private void WriteJson<T>(T value) => _console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(value, JsonOptions));

    // Text from the store or a caller may hold terminal control sequences (ESC [ ...): shown as
    // \uXXXX escapes, never sent to the terminal raw.
    private static string Esc(string text) => Markup.Escape(Printable(text));

    /// <summary>An error as one JSON object (for <c>--format json</c>, on standard error): <c>{"error":{"code","message","exit_code"}}</c>.</summary>
    public static string ErrorJson(string code, string message, int exitCode) =>
        JsonSerializer.Serialize(new { error = new { code, message, exitCode } }, new JsonSerializerOptions(JsonOptions) { WriteIndented = false });

    /// <summary>Any value as the CLI's JSON.</summary>
    public void Value<T>(T value) => WriteJson(value);

    private static string Printable(string text)
    {
        if (!text.AsSpan().ContainsAny(ControlCharacters))
        {
            return text;
        }

        var builder = new System.Text.StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            builder.Append(ControlCharacters.Contains(c) ? $"\\u{(int)c:x4}" : c);
        }

        return builder.ToString();
    }

    private static string Num(long? n) => n?.ToString(CultureInfo.InvariantCulture) ?? string.Empty;

    private static string Time(DateTimeOffset? t) => t?.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? string.Empty;

    private sealed record KeyView(string Name, DateTimeOffset CreatedAt, int ActiveVersion, int LatestVersion, int MinDecryptionVersion, string DestructionDelay, long DestructionDelaySeconds, bool DeletionAllowed, IReadOnlyList<VersionView>? Versions = null)
    {
        public static KeyView From(KeyInfo k) =>
            new(k.Name.Value, k.CreatedAt, k.ActiveVersion, k.LatestVersion, k.MinDecryptionVersion, Durations.Format(k.DestructionDelay), (long)k.DestructionDelay.TotalSeconds, k.DeletionAllowed);
    }

    private sealed record VersionView(string Key, int Version, KeyVersionState State, DateTimeOffset CreatedAt, DateTimeOffset? ActivatedAt, DateTimeOffset? DeactivatedAt, DateTimeOffset? RetireDeadline, DateTimeOffset? DestroyAfter, DateTimeOffset? DestroyedAt, long EncryptCount, long DecryptCount, string Origin)
    {
        public static VersionView From(KeyVersionInfo v) =>
            new(v.Key.Value, v.Version, v.State, v.CreatedAt, v.ActivatedAt, v.DeactivatedAt, v.RetireDeadline, v.DestroyAfter, v.DestroyedAt, v.EncryptCount, v.DecryptCount, v.Origin == KeyVersionOrigin.Imported ? "imported" : "generated");
    }
}
