namespace Rekey;

/// <summary>Who asks for a change, and why; recorded in the audit event.</summary>
/// <param name="Actor">The principal (never a secret).</param>
/// <param name="Reason">Free text, for example an incident number.</param>
public sealed record ChangeContext(string Actor, string? Reason = null);

/// <summary>Options for a new key.</summary>
/// <param name="DestructionDelay">Overrides <see cref="RekeyServiceOptions.DefaultDestructionDelay"/>.</param>
public sealed record KeyCreateOptions(TimeSpan? DestructionDelay = null);

/// <summary>Options for a rotation.</summary>
/// <param name="ExpectedActiveVersion">When set, the rotation happens only if this is still the Active version (else <c>Conflict</c>).</param>
/// <param name="Activate">False stages the new version as Pending, to be activated later, so every instance knows it first.</param>
public sealed record RotateOptions(int? ExpectedActiveVersion = null, bool Activate = true);
