using System.Text.Json;
using Rekey.Access;
using Rekey.Audit;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Storage;

namespace Rekey.Lifecycle;

/// <summary>
/// Setting, removing and reading lifecycle policies, and a key's effective policy. A change is
/// audited (<c>policy.set</c>, <c>policy.unset</c>) and marks every key the pattern matches due,
/// so the scheduler applies it at its next tick.
/// </summary>
public sealed class LifecyclePolicies
{
    private readonly IKeyManager _keys;
    private readonly ILifecycleStore _store;
    private readonly LifecycleOptions _options;
    private readonly TimeProvider _time;

    /// <summary>Policies over <paramref name="store"/>, for the keys <paramref name="keys"/> manages.</summary>
    public LifecyclePolicies(IKeyManager keys, ILifecycleStore store, LifecycleOptions? options = null, TimeProvider? time = null)
    {
        _keys = keys;
        _store = store;
        _options = options ?? new LifecycleOptions();
        _time = time ?? TimeProvider.System;
    }

    /// <summary>
    /// Sets (or replaces) the policy on <paramref name="pattern"/>. <c>InvalidRequest</c> naming every
    /// problem: bad durations, a malformed cron expression or time zone, periods under the minimum,
    /// destruction without a retention rule, or a pattern that matches no key.
    /// </summary>
    public async Task<PolicyEntry> SetAsync(KeyPattern pattern, LifecyclePolicy policy, ChangeContext change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(change);
        PolicyRules.Validate(policy, _options);
        if (!await MatchesAnyAsync(pattern, cancellationToken).ConfigureAwait(false))
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, $"The pattern '{pattern.Value}' matches no key; create a key it covers first (a policy on nothing is most often a typo).");
        }

        var document = JsonSerializer.Serialize(policy, LifecycleJson.Default.LifecyclePolicy);
        await HoldAsync(Approvals.ApprovalRequest.For(Approvals.ApprovalOperations.Policy, pattern.Value).With(Approvals.ApprovalFields.Document, document), change, cancellationToken).ConfigureAwait(false);
        var now = AuditChain.TruncateToMilliseconds(_time.GetUtcNow());
        var audit = ChangeContext.Stamp(change, new AuditRecord(now, change.Actor, "policy.set", pattern.Value == "*" || !KeyName.TryParse(pattern.Value, out _) ? null : pattern.Value, null, null, "success", $"pattern {pattern.Value}; {document}"));
        await _store.PutPolicyAsync(new StoredPolicy(pattern.Value, document, now), audit, cancellationToken).ConfigureAwait(false);
        return new PolicyEntry(pattern.Value, policy, now);
    }

    /// <summary>Removes the policy on <paramref name="pattern"/>; <c>PolicyNotFound</c> when there is none.</summary>
    public async Task UnsetAsync(KeyPattern pattern, ChangeContext change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        if ((await _store.ListPoliciesAsync(cancellationToken).ConfigureAwait(false)).All(p => p.Pattern != pattern.Value))
        {
            throw new RekeyException(RekeyErrorCode.PolicyNotFound, $"No policy is set on '{pattern.Value}'.");
        }

        await HoldAsync(Approvals.ApprovalRequest.For(Approvals.ApprovalOperations.Policy, pattern.Value).With(Approvals.ApprovalFields.Unset, Approvals.ApprovalFields.Bool(true)), change, cancellationToken).ConfigureAwait(false);
        var now = AuditChain.TruncateToMilliseconds(_time.GetUtcNow());
        var audit = ChangeContext.Stamp(change, new AuditRecord(now, change.Actor, "policy.unset", null, null, null, "success", "pattern " + pattern.Value));
        if (!await _store.DeletePolicyAsync(pattern.Value, audit, cancellationToken).ConfigureAwait(false))
        {
            throw new RekeyException(RekeyErrorCode.PolicyNotFound, $"No policy is set on '{pattern.Value}'.");
        }
    }

    // Dual control over policies: the gate is the service's (null holds nothing).
    private Task HoldAsync(Approvals.ApprovalRequest request, ChangeContext change, CancellationToken cancellationToken) =>
        _keys is RekeyService { Approvals: { } gate } ? gate.CheckAsync(request, change, cancellationToken) : Task.CompletedTask;

    /// <summary>
    /// Each key's cryptoperiod under its effective policy: the shorter of <c>rotate_every</c> and
    /// <c>version_lifetime</c>. Keys with neither are left out. The policies are read once for all keys.
    /// </summary>
    public async Task<IReadOnlyDictionary<KeyName, TimeSpan>> CryptoperiodsAsync(IEnumerable<KeyName> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var entries = await ListAsync(cancellationToken).ConfigureAwait(false);
        var periods = new Dictionary<KeyName, TimeSpan>();
        if (!entries.Any(e => e.Policy.RotateEvery is not null || e.Policy.VersionLifetime is not null))
        {
            return periods;
        }

        foreach (var key in keys)
        {
            var (policy, _) = PolicyResolver.Resolve(key, entries);
            if ((policy.RotateEvery, policy.VersionLifetime) switch
            {
                ({ } every, { } lifetime) => every < lifetime ? every : lifetime,
                ({ } every, null) => every,
                (null, { } lifetime) => lifetime,
                _ => (TimeSpan?)null,
            } is { } period)
            {
                periods[key] = period;
            }
        }

        return periods;
    }

    /// <summary>Every policy, by pattern.</summary>
    public async Task<IReadOnlyList<PolicyEntry>> ListAsync(CancellationToken cancellationToken = default) =>
        (await _store.ListPoliciesAsync(cancellationToken).ConfigureAwait(false)).Select(Parse).ToList();

    /// <summary>The policy on exactly <paramref name="pattern"/>; <c>PolicyNotFound</c> when there is none.</summary>
    public async Task<PolicyEntry> GetAsync(KeyPattern pattern, CancellationToken cancellationToken = default) =>
        (await ListAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault(p => p.Pattern == pattern.Value)
            ?? throw new RekeyException(RekeyErrorCode.PolicyNotFound, $"No policy is set on '{pattern.Value}'.");

    /// <summary>The policy <paramref name="key"/> follows, each field with the pattern it came from, when the scheduler looks at it next, and what its retention waits for.</summary>
    public async Task<EffectivePolicy> GetEffectiveAsync(KeyName key, CancellationToken cancellationToken = default)
    {
        await _keys.GetKeyAsync(key, cancellationToken).ConfigureAwait(false);
        var (policy, sources) = PolicyResolver.Resolve(key, await ListAsync(cancellationToken).ConfigureAwait(false));
        var schedule = await _store.GetScheduleAsync(key, cancellationToken).ConfigureAwait(false);
        var notes = schedule is null ? new ScheduleNotes() : JsonSerializer.Deserialize(schedule.Document, LifecycleJson.Default.ScheduleNotes) ?? new ScheduleNotes();
        return new EffectivePolicy(key, policy, sources, schedule?.NextDue, notes.Waiting, notes.LastAction);
    }

    internal static PolicyEntry Parse(StoredPolicy stored) =>
        new(stored.Pattern, JsonSerializer.Deserialize(stored.Document, LifecycleJson.Default.LifecyclePolicy) ?? new LifecyclePolicy(), stored.UpdatedAt);

    private async Task<bool> MatchesAnyAsync(KeyPattern pattern, CancellationToken cancellationToken) =>
        await _store.CountMatchingKeysAsync(pattern.Value, cancellationToken).ConfigureAwait(false) > 0;
}
