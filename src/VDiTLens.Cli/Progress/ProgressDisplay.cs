using Spectre.Console;

namespace VDiTLens.Cli.Progress;

/// <summary>The one progress display of the command line: description, bar, percentage, elapsed and remaining time.</summary>
internal static class ProgressDisplay
{
    public static void Run(Action<ProgressContext> work) => Create().Start(work);

    public static T Run<T>(Func<ProgressContext, T> work)
    {
        T result = default!;
        Create().Start(ctx => result = work(ctx));
        return result;
    }

    private static Spectre.Console.Progress Create() => AnsiConsole.Progress()
        .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn());
}
