namespace VDiTLens.Cli;

/// <summary>Turns an exception into one line on stderr and an exit code; a stack trace only with VDITLENS_DEBUG=1.</summary>
internal static class ErrorReport
{
    public static int Print(Exception e, TextWriter error)
    {
        while (e is AggregateException { InnerException: not null } or System.Reflection.TargetInvocationException { InnerException: not null })
            e = e.InnerException!;
        bool debug = Environment.GetEnvironmentVariable("VDITLENS_DEBUG") == "1";
        if (e is VDiTLensException)
        {
            error.WriteLine("error: " + OneLine(e.Message));
            if (debug) error.WriteLine(e);
            return 2;
        }
        error.WriteLine($"internal error ({e.GetType().Name}): {OneLine(e.Message)} (set VDITLENS_DEBUG=1 for details)");
        if (debug) error.WriteLine(e);
        return 1;
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");
}
