namespace Rekey.Lifecycle;

/// <summary>Settings of the lifecycle scheduler and of policy checks.</summary>
public sealed class LifecycleOptions
{
    /// <summary>
    /// The shortest rotation period (<c>rotate_every</c>, <c>version_lifetime</c>) a policy may set:
    /// one hour. The dev server lowers it to one second so a rotation can be watched.
    /// </summary>
    public TimeSpan MinimumPeriod { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long an instance holds a key while acting on it; a dead instance's keys are taken over after this.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How soon a key waiting on something outside the scheduler (a re-wrap job, the inventory, usage counts) is looked at again.</summary>
    public TimeSpan RecheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The most keys one scheduler tick acts on.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>How many keys one instance acts on at once in a tick (each under its own lease).</summary>
    public int Concurrency { get; set; } = 16;
}
