using System.Globalization;
using Rekey.Api;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Rekey.Cli;

/// <summary>The live progress bar of a re-wrap job: rows looked at in this pass, rate and time left.</summary>
internal static class RewrapProgress
{
    public static async Task<RewrapJobResource> ShowAsync(IAnsiConsole console, Func<IProgress<RewrapJobResource>, Task<RewrapJobResource>> work)
    {
        RewrapJobResource? last = null;
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RateColumn(), new EtaColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask("starting", maxValue: 1);
                var update = new Progress(status =>
                {
                    last = status;
                    // Short, so the bar, rate and ETA fit an 80-column terminal; the summary table follows at the end.
                    task.Description = Markup.Escape($"{status.Id} pass {status.Pass} {status.State.ToLowerInvariant()}");
                    task.MaxValue = Math.Max(1, status.Total);
                    task.Value = Math.Min(status.Done, task.MaxValue);
                    task.State.Update<double>("rate", _ => status.RowsPerSecond);
                    task.State.Update<double>("eta", _ => status.EtaSeconds ?? -1);
                });
                last = await work(update).ConfigureAwait(false);
                update.Report(last);
                task.StopTask();
            }).ConfigureAwait(false);
        return last!;
    }

    /// <summary>Reports on the caller's thread as soon as asked (not through a synchronization context).</summary>
    private sealed class Progress(Action<RewrapJobResource> report) : IProgress<RewrapJobResource>
    {
        public void Report(RewrapJobResource value) => report(value);
    }

    private sealed class RateColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(task.State.Get<double>("rate").ToString("N0", CultureInfo.InvariantCulture) + " rows/s");
    }

    private sealed class EtaColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime)
        {
            var seconds = task.State.Get<double>("eta");
            return new Text(seconds < 0 ? "ETA --:--" : "ETA " + TimeSpan.FromSeconds(Math.Round(seconds)).ToString(seconds >= 3600 ? @"h\:mm\:ss" : @"mm\:ss", CultureInfo.InvariantCulture));
        }
    }
}
