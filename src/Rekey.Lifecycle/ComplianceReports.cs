using System.Globalization;
using System.Text.Json;
using Rekey.Access;
using Rekey.Audit;
using Rekey.Keys;
using Rekey.Storage;

namespace Rekey.Lifecycle;

/// <summary>Builds <see cref="ComplianceReport"/>s from the service, the policies, the rotation records, the inventory and the audit log.</summary>
public sealed class ComplianceReports
{
    private const int AuditPage = 5000;
    private readonly IKeyService _service;
    private readonly LifecyclePolicies _policies;
    private readonly ILifecycleStore _lifecycle;
    private readonly IRewrapJobStore _inventory;
    private readonly IAuditCheckpointStore _checkpoints;
    private readonly TimeProvider _time;

    /// <summary>A report builder over one store's service.</summary>
    public ComplianceReports(IKeyService service, LifecyclePolicies policies, ILifecycleStore lifecycle, IRewrapJobStore inventory, IAuditCheckpointStore checkpoints, TimeProvider? time = null)
    {
        _service = service;
        _policies = policies;
        _lifecycle = lifecycle;
        _inventory = inventory;
        _checkpoints = checkpoints;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The report for the keys <paramref name="pattern"/> matches and <paramref name="visible"/> allows (a token's scope).</summary>
    public async Task<ComplianceReport> BuildAsync(KeyPattern pattern, Func<KeyName, bool>? visible = null, CancellationToken cancellationToken = default)
    {
        var verification = await _service.VerifyAuditAsync(new AuditVerifyOptions(), cancellationToken).ConfigureAwait(false);
        var checkpoints = await _checkpoints.GetCheckpointsAsync(cancellationToken).ConfigureAwait(false);
        var latest = checkpoints.Count == 0 ? null : checkpoints.MaxBy(c => c.Sequence);
        var audit = new AuditSummary(
            verification.IsValid,
            verification.EventCount,
            verification.Head is { } head ? head.ToString() : null,
            verification.Problem,
            checkpoints.Count,
            latest is null ? null : new CheckpointLine(latest.Sequence, latest.Hash, latest.Time, latest.KeyId));

        // The log is read once and split by key, not scanned again for each key.
        var events = (await ReadAllEventsAsync(cancellationToken).ConfigureAwait(false)).Where(e => e.Record.Key is not null).ToLookup(e => e.Record.Key!, StringComparer.Ordinal);
        var keys = new List<KeyReport>();
        foreach (var key in (await _service.ListKeysAsync(null, cancellationToken).ConfigureAwait(false)).Where(k => pattern.Matches(k.Name) && (visible?.Invoke(k.Name) ?? true)))
        {
            keys.Add(await KeyAsync(key, [.. events[key.Name.Value]], cancellationToken).ConfigureAwait(false));
        }

        return new ComplianceReport(_time.GetUtcNow(), pattern.ToString(), audit, keys);
    }

    private async Task<KeyReport> KeyAsync(KeyInfo key, IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        var effective = await _policies.GetEffectiveAsync(key.Name, cancellationToken).ConfigureAwait(false);
        var rules = new List<PolicyLine>();
        using (var document = JsonDocument.Parse(JsonSerializer.Serialize(effective.Policy, LifecycleJson.Default.LifecyclePolicy)))
        {
            foreach (var rule in document.RootElement.EnumerateObject())
            {
                rules.Add(new PolicyLine(rule.Name, Show(rule), effective.Sources.GetValueOrDefault(rule.Name) ?? "-"));
            }
        }

        var rotations = (await _lifecycle.ListRotationsAsync(key.Name, openOnly: false, 100, cancellationToken).ConfigureAwait(false))
            .Select(r => new RotationLine(r.Id, r.FromVersion, r.ToVersion, r.Cause, r.Phase, r.CreatedAt))
            .ToList();
        var counts = await _inventory.GetInventoryAsync(key.Name, cancellationToken).ConfigureAwait(false);
        var versions = new List<VersionReport>();
        foreach (var v in await _service.ListVersionsAsync(key.Name, cancellationToken).ConfigureAwait(false))
        {
            var history = events
                .Where(e => e.Record.FromVersion == v.Version || e.Record.ToVersion == v.Version || (e.Record.Action == "key.create" && v.Version == 1))
                .Select(e => new HistoryLine(e.Sequence, e.Record.Time, e.Record.Action, e.Record.Actor, e.Record.Reason, e.Record.Outcome, e.Record.Details, ApprovedBy(e.Record.Details)))
                .ToList();
            var destroyed = history.LastOrDefault(h => h.Action == "version.destroy" && h.Outcome == "success");
            versions.Add(new VersionReport(
                v.Version,
                v.State.ToString(),
                v.Origin == KeyVersionOrigin.Imported ? "imported" : "generated",
                v.CreatedAt,
                v.DestroyedAt,
                history,
                counts.Where(c => c.Version == v.Version).Select(c => new InventoryLine(c.Source, c.Count, c.CountedAt)).ToList(),
                destroyed?.Details));
        }

        return new KeyReport(
            key.Name.Value,
            key.CreatedAt,
            key.ActiveVersion,
            effective.Policy.RotateEvery is { } period ? DurationText.Format(period) : null,
            rules,
            rotations.FirstOrDefault(),
            effective.NextDue,
            rotations,
            versions);
    }

    private async Task<List<AuditEvent>> ReadAllEventsAsync(CancellationToken cancellationToken)
    {
        var all = new List<AuditEvent>();
        while (true)
        {
            var page = await _service.ReadAuditAsync(all.Count == 0 ? 0 : all[^1].Sequence, AuditPage, cancellationToken).ConfigureAwait(false);
            all.AddRange(page);
            if (page.Count < AuditPage)
            {
                return all;
            }
        }
    }

    // Durations are stored in seconds; shown as people read them.
    private static string Show(JsonProperty rule) =>
        rule.Name.EndsWith("_seconds", StringComparison.Ordinal) && rule.Value.TryGetInt64(out var seconds)
            ? DurationText.Format(TimeSpan.FromSeconds(seconds))
            : rule.Value.ValueKind == JsonValueKind.String ? rule.Value.GetString()! : rule.Value.GetRawText();

    // A change carried out under dual control names its approval and approvers in its details.
    private static string? ApprovedBy(string? details) =>
        ApprovalGrant.FromDetails(details) is { } grant ? $"{string.Join(", ", grant.Approvers)} ({grant.Id})" : null;
}
