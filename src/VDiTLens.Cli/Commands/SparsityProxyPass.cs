using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using VDiTLens.Pipelines;
using VDiTLens.Studies.Sparsity;

namespace VDiTLens.Cli.Commands;

/// <summary>The teacher-forced proxy as the first pass of <c>vditlens sparsity</c>: <c>--proxy</c>, <c>--proxy-samples</c>, <c>--proxy-flag</c>.</summary>
internal sealed class SparsityProxyPass
{
    public Option<bool> Proxy { get; } = new("--proxy") { Description = "first pass: per layer and level, the relative change of the predicted velocity at a few latents of the dense trajectory (one forward each) instead of a generation per cell; Wan folders" };
    public Option<int> Samples { get; } = new("--proxy-samples") { Description = "denoising steps the proxy samples", DefaultValueFactory = _ => 4 };
    public Option<int> Flag { get; } = new("--proxy-flag") { Description = "after the proxy, run the full sweep only on this many most sensitive layers (0: proxy only)", DefaultValueFactory = _ => 0 };

    public void AddTo(Command command)
    {
        command.Options.Add(Proxy);
        command.Options.Add(Samples);
        command.Options.Add(Flag);
    }

    /// <summary>Runs the proxy when --proxy is on; false after a proxy-only run, true when the sweep is to continue (with --proxy-flag: on the flagged layers only).</summary>
    public bool Run(ParseResult result, ITextToVideoPipeline pipeline, GenerationRequest request, ref SweepOptions options, string outPath)
    {
        if (!result.GetValue(Proxy)) return true;
        if (pipeline is not WanPipeline wan)
            throw new VDiTLensException($"--proxy calls the transformer directly and runs on WanPipeline folders only (this is {pipeline.ClassName}); drop --proxy for the full sweep");
        var proxyOptions = new ProxyOptions { Methods = options.Methods, Levels = options.Levels, Samples = result.GetValue(Samples) };
        var layers = SensitivityProxy.Layers(wan, proxyOptions);
        AnsiConsole.WriteLine($"sensitivity proxy: {SensitivityProxy.Forwards(request, proxyOptions, layers.Count)} transformer forwards " +
            $"({layers.Count} layers × {options.Levels.Count} levels × {options.Methods.Count} methods at {SensitivityProxy.SampleSteps(request.Steps, proxyOptions.Samples).Length} steps, batch of {request.BatchSize})");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var proxy = SensitivityProxy.Run(wan, request with { BatchGuidance = false }, proxyOptions, new Reporter(p =>
        {
            if (p.Done > 0 && p.Done % 20 == 0)
                AnsiConsole.WriteLine($"  {p.Done}/{p.Total} forwards, {clock.Elapsed.TotalSeconds:F0} s, ETA {clock.Elapsed.TotalSeconds / p.Done * (p.Total - p.Done):F0} s");
        }));
        string folder = Path.Combine(outPath, SparsityReport.Folder);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "proxy.csv"), proxy.Csv());
        var table = new Table().AddColumns(new[] { "method", "layer" }.Concat(options.Levels.Select(l => l.ToString(CultureInfo.InvariantCulture))).Append("mean").ToArray());
        foreach (var method in options.Methods)
            foreach (var (layer, site, mean) in proxy.Ranking(method.Name))
                table.AddRow(new[] { Markup.Escape(method.Name), layer.ToString() }
                    .Concat(options.Levels.Select(l => proxy.Cells.Single(c => c.Method == method.Name && c.Site == site && c.Level == l).RelativeChange.ToString("F3")))
                    .Append(mean.ToString("F3")).ToArray());
        AnsiConsole.Write(table);
        AnsiConsole.WriteLine($"proxy in {proxy.Elapsed.TotalSeconds:F0} s; wrote {Path.Combine(folder, "proxy.csv")} (rows: most sensitive first)");
        int flag = result.GetValue(Flag);
        if (flag <= 0) return false;
        var flagged = options.Methods.SelectMany(m => proxy.Ranking(m.Name).Take(flag).Select(r => r.Site)).Distinct().ToArray();
        AnsiConsole.WriteLine($"full sweep on the flagged layers: {string.Join(", ", flagged)}");
        options = options with { Sites = flagged };
        return true;
    }

    private sealed class Reporter(Action<(int Done, int Total)> report) : IProgress<(int Done, int Total)>
    {
        public void Report((int Done, int Total) value) => report(value);
    }
}
