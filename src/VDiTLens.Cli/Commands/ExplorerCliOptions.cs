using System.CommandLine;
using VDiTLens.Reports.Explorer;

namespace VDiTLens.Cli.Commands;

/// <summary>The options of the report's attention explorer, shared by every verb that writes one.</summary>
internal sealed class ExplorerCliOptions
{
    public Option<string?> Steps { get; } = new("--explorer-steps") { Description = "denoising steps the explorer captures, e.g. 0,10,19 (default: the first and the last)" };
    public Option<int> Queries { get; } = new("--explorer-queries") { Description = "queries per frame side whose attention rows are captured (N×N per frame)", DefaultValueFactory = _ => ExplorerOptions.Default.Queries };
    public Option<string?> Sites { get; } = new("--explorer-sites") { Description = "sites the explorer captures: names, prefixes ending in *, or kinds (default: self,joint,cross)" };
    public Option<string?> HeadRows { get; } = new("--explorer-head-rows") { Description = "captured sites whose query rows are also kept per head (names, prefixes ending in *, kinds; default: every captured site; none: head mean only)" };
    public Option<int> TileSize { get; } = new("--explorer-tile-size") { Description = "tile edge of the explorer's tile map, in patches", DefaultValueFactory = _ => ExplorerOptions.Default.TileSize };
    public Option<bool> Off { get; } = new("--no-explorer") { Description = "write the report without the attention explorer" };

    /// <summary>Adds the options; <paramref name="withOff"/> adds <c>--no-explorer</c> (for verbs that write one unless told not to).</summary>
    public void AddTo(Command command, bool withOff = true)
    {
        foreach (var o in new Option[] { Steps, Queries, Sites, HeadRows, TileSize }) command.Options.Add(o);
        if (withOff) command.Options.Add(Off);
    }

    /// <summary>The explorer options given on the command line.</summary>
    public IEnumerable<string> Given(ParseResult result) =>
        new Option[] { Steps, Queries, Sites, HeadRows, TileSize, Off }.Where(o => result.GetResult(o) is { Implicit: false }).Select(o => o.Name);

    public ExplorerOptions Resolve(ParseResult result) => new()
    {
        Steps = Split(result.GetValue(Steps)).Select(s => int.TryParse(s, out int v) ? v
            : throw new VDiTLensException($"--explorer-steps: '{s}' is not a step number (use a list such as 0,10,19)")).ToArray(),
        Queries = result.GetValue(Queries),
        Sites = Split(result.GetValue(Sites)),
        HeadRowSites = Split(result.GetValue(HeadRows)),
        TileSize = result.GetValue(TileSize),
        Enabled = !result.GetValue(Off),
    };

    private static string[] Split(string? s) =>
        string.IsNullOrWhiteSpace(s) ? Array.Empty<string>() : s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
