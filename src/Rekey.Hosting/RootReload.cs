namespace Rekey.Hosting;

/// <summary>What a running stack reads and wraps with after <see cref="RekeyStack.ReloadRootsAsync"/>.</summary>
/// <param name="Primary">The root new material is wrapped by.</param>
/// <param name="Previous">The configured previous roots.</param>
/// <param name="KeptUnconfigured">Roots no longer configured but kept because the store still holds material under them.</param>
public sealed record RootReload(string Primary, IReadOnlyList<string> Previous, IReadOnlyList<string> KeptUnconfigured);
