using System.CommandLine;
using Spectre.Console;

namespace VDiTLens.Cli;

/// <summary>
/// The <c>vditlens</c> command line as a function: arguments in, exit code out, all output through the given
/// writers (commands write through Spectre's <see cref="AnsiConsole"/>, which is pointed at <paramref name="output"/>
/// for the call). Tests call it in-process; Program.cs calls it with the process's console.
/// </summary>
public static class CliApp
{
    private static readonly Lock OneAtATime = new();

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        lock (OneAtATime)
        {
            var previous = AnsiConsole.Console;
            bool redirected = !ReferenceEquals(output, Console.Out);
            if (redirected)
                AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings
                {
                    Ansi = AnsiSupport.No,
                    ColorSystem = ColorSystemSupport.NoColors,
                    Interactive = InteractionSupport.No,
                    Out = new AnsiConsoleOutput(output),
                });
            try
            {
                var root = new RootCommand("VDiTLens: run video diffusion transformers and see and steer their attention");
                foreach (var command in CommandCatalog.All()) root.Subcommands.Add(command);
                var parse = root.Parse(args);
                return parse.Invoke(new InvocationConfiguration
                {
                    EnableDefaultExceptionHandler = false, Output = output, Error = error,
                });
            }
            catch (Exception e)
            {
                return ErrorReport.Print(e, error);
            }
            finally
            {
                if (redirected) AnsiConsole.Console = previous;
            }
        }
    }
}
