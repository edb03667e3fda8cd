using System.CommandLine;
using VDiTLens.Probes;
using VDiTLens.Attention;

namespace VDiTLens.Cli.Commands;

/// <summary>The probe options shared by every verb that runs probes.</summary>
internal sealed class ProbeOptionsBinder
{
    public Option<string?> Probes { get; } = new("--probes") { Description = $"comma list of {string.Join(", ", ProbeOptions.AllProbes)}, or all" };
    public Option<string?> Sites { get; } = new("--sites") { Description = "site names, prefixes ending in '*', or kinds (self, cross, joint)" };
    public Option<string?> Layers { get; } = new("--layers") { Description = "layer indices and inclusive ranges, e.g. 10-20,25" };
    public Option<string?> Heads { get; } = new("--heads") { Description = "head indices to keep" };
    public Option<string?> Steps { get; } = new("--probe-steps") { Description = "denoising steps to probe (comma list)" };
    public Option<string?> Branches { get; } = new("--branches") { Description = "guidance branches to probe (cond, uncond)" };
    public Option<string?> Experts { get; } = new("--experts") { Description = "denoisers to probe: transformer, transformer_2 (the Wan2.2 A14B high- and low-noise experts)" };
    public Option<int> TileSize { get; } = new("--tile-size") { Description = "tile size in patches for tile maps", DefaultValueFactory = _ => 4 };
    public Option<long> MemoryMb { get; } = new("--probe-memory-mb") { Description = "memory budget of one block of attention rows", DefaultValueFactory = _ => 256 };
    public Option<int> QueryStride { get; } = new("--query-stride") { Description = "probe every n-th query (1 = exact over all queries)", DefaultValueFactory = _ => 1 };
    public Option<int> CoverageStride { get; } = new("--coverage-stride") { Description = "compute top-k coverage on every n-th query", DefaultValueFactory = _ => 1 };
    public Option<bool> Blockwise { get; } = new("--blockwise") { Description = "compute every statistic from blocks of exact softmax rows instead of the fused attention passes (slower; no limit on the logit range)" };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Probes, Sites, Layers, Heads, Steps, Branches, Experts, TileSize, MemoryMb, QueryStride, CoverageStride, Blockwise })
            command.Options.Add(o);
    }

    public ProbeOptions Resolve(ParseResult r, ProbeGrouping grouping = ProbeGrouping.Site) => new()
    {
        Probes = ProbeOptions.ParseProbes(r.GetValue(Probes)),
        Filter = AttentionSelector.Parse(r.GetValue(Sites), r.GetValue(Layers), r.GetValue(Steps), r.GetValue(Branches), r.GetValue(Heads), r.GetValue(Experts)),
        Grouping = grouping,
        TileSize = r.GetValue(TileSize),
        MemoryBudgetBytes = r.GetValue(MemoryMb) << 20,
        QueryStride = r.GetValue(QueryStride),
        CoverageStride = r.GetValue(CoverageStride),
        Fused = !r.GetValue(Blockwise),
        Warn = message => Spectre.Console.AnsiConsole.MarkupLine($"[yellow]warning:[/] {Spectre.Console.Markup.Escape(message)}"),
    };
}
