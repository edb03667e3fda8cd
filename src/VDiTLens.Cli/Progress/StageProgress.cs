using Spectre.Console;
using VDiTLens.Studies.Sinks;

namespace VDiTLens.Cli.Progress;

/// <summary>One bar per stage of a staged study (<see cref="SinkStudyProgress"/>), reported on the calling thread.</summary>
internal static class StageProgress
{
    public static T Run<T>(Func<IProgress<SinkStudyProgress>, T> work) => ProgressDisplay.Run(ctx =>
    {
        var tasks = new Dictionary<string, ProgressTask>();
        return work(new SynchronousProgress<SinkStudyProgress>(p =>
        {
            if (!tasks.TryGetValue(p.Stage, out var task))
                tasks[p.Stage] = task = ctx.AddTask(Markup.Escape(p.Stage), maxValue: Math.Max(1, p.Total));
            task.MaxValue = Math.Max(1, p.Total);
            task.Value = p.Done;
        }));
    });
}
