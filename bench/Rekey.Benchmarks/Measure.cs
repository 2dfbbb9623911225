using System.Diagnostics;

namespace Rekey.Benchmarks;

/// <summary>
/// A small harness: warm up, then run an operation in timed rounds on one thread and keep the
/// median rate. Every figure is compared with a baseline measured in the same process and run,
/// so machine speed cancels out of the ratios.
/// </summary>
internal sealed class Measure(TimeSpan round, int rounds)
{
    public double OpsPerSecond(Func<ValueTask> operation)
    {
        Run(operation, round / 2);
        var rates = new double[rounds];
        for (var i = 0; i < rounds; i++)
        {
            rates[i] = Run(operation, round);
        }

        Array.Sort(rates);
        return rates[rounds / 2];
    }

    private static double Run(Func<ValueTask> operation, TimeSpan duration)
    {
        long count = 0;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < duration)
        {
            // Check the clock every 64 operations so timing costs stay out of the figure.
            for (var i = 0; i < 64; i++)
            {
                var pending = operation();
                if (!pending.IsCompletedSuccessfully)
                {
                    pending.AsTask().GetAwaiter().GetResult();
                }
            }

            count += 64;
        }

        return count / watch.Elapsed.TotalSeconds;
    }
}
