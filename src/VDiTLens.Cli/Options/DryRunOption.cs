using System.CommandLine;

namespace VDiTLens.Cli.Options;

/// <summary><c>--dry-run</c>: print the plan and its estimated time, from one cell run on this device, and write nothing.</summary>
internal static class DryRunOption
{
    public static Option<bool> Create() => new("--dry-run")
    {
        Description = "print the cells, generations, forwards and estimated time (from one cell run here, every stage, in a scratch folder), and write nothing",
    };
}
