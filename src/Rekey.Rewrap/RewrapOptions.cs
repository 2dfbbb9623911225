namespace Rekey.Rewrap;

/// <summary>How jobs are run.</summary>
public sealed class RewrapOptions
{
    /// <summary>How long a runner's lease lasts without renewal; a runner that dies is taken over after this.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Passes at most: a pass after the first only revisits rows an application changed during the one before.</summary>
    public int MaxPasses { get; set; } = 10;
}
