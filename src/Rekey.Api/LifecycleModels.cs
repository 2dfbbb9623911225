using Rekey.Lifecycle;

namespace Rekey.Api;

/// <summary>Sets the policy on a pattern (<c>PUT /v1/policies</c>).</summary>
/// <param name="Pattern">The key-name pattern: <c>tenants/*</c>, an exact name, or <c>*</c>.</param>
/// <param name="Policy">The policy's fields; unknown fields are refused.</param>
/// <param name="Reason">Recorded in the audit log.</param>
public sealed record PolicySetRequest(string? Pattern = null, LifecyclePolicy? Policy = null, string? Reason = null);

/// <summary>A policy as set on a pattern.</summary>
/// <param name="Pattern">The pattern.</param>
/// <param name="Policy">Its fields.</param>
/// <param name="UpdatedAt">When it was last set.</param>
public sealed record PolicyResource(string Pattern, LifecyclePolicy Policy, DateTimeOffset UpdatedAt);

/// <summary>Every policy the caller's patterns overlap.</summary>
/// <param name="Policies">By pattern.</param>
public sealed record PoliciesResponse(IReadOnlyList<PolicyResource> Policies);

/// <summary>The policy a key follows (<c>GET /v1/policies/effective/{key}</c>).</summary>
/// <param name="Key">The key.</param>
/// <param name="Policy">The merged fields.</param>
/// <param name="Sources">Per field set, the pattern it came from.</param>
/// <param name="NextDue">When the scheduler looks at the key next (null: never, no policy applies).</param>
/// <param name="Waiting">Per version, what retention is waiting for.</param>
/// <param name="LastAction">The last thing the scheduler did to the key, or why it could not.</param>
public sealed record EffectivePolicyResource(string Key, LifecyclePolicy Policy, IReadOnlyDictionary<string, string> Sources, DateTimeOffset? NextDue, IReadOnlyDictionary<int, string>? Waiting = null, string? LastAction = null);

/// <summary>A rotation record.</summary>
/// <param name="Id">Its id.</param>
/// <param name="Key">The key.</param>
/// <param name="FromVersion">The Active version before.</param>
/// <param name="ToVersion">The version created.</param>
/// <param name="Cause"><c>manual</c>, <c>periodic</c>, <c>expiry</c>, <c>cron</c> or <c>usage</c>.</param>
/// <param name="Phase"><c>prepare</c>, <c>execute</c>, <c>verify</c>, <c>complete</c> or <c>failed</c>.</param>
/// <param name="CreatedAt">When the rotation happened.</param>
/// <param name="UpdatedAt">When the record last changed.</param>
/// <param name="PhaseTimes">When each phase was entered.</param>
/// <param name="Jobs">The re-wrap jobs it started, with their counts.</param>
/// <param name="Remaining">Per registered source, values still under older versions (null: not counted since the rotation).</param>
/// <param name="Note">What it waits for, or why it failed and what to do.</param>
public sealed record RotationResource(
    string Id,
    string Key,
    int FromVersion,
    int ToVersion,
    string Cause,
    string Phase,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    IReadOnlyDictionary<string, DateTimeOffset> PhaseTimes,
    IReadOnlyList<RotationJob> Jobs,
    IReadOnlyDictionary<string, long?> Remaining,
    string? Note);

/// <summary>Rotation records, newest first.</summary>
/// <param name="Rotations">The records.</param>
public sealed record RotationsResponse(IReadOnlyList<RotationResource> Rotations);
