using System.CommandLine;
using Spectre.Console;
using VDiTLens.Pipelines;
using VDiTLens.Studies.Experts;

namespace VDiTLens.Cli.Commands;

/// <summary><c>vditlens experts</c>: structure, sinks and sparsity of the two Wan2.2 A14B experts, site by site.</summary>
internal static class ExpertsCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var study = new StudyOptions("Wan2.2 A14B pipeline folder (WanPipeline with transformer_2 and boundary_ratio)", "out/experts");
        var prompt = new Option<string[]>("--prompt") { Description = "prompt; repeat for a batch", Required = true, AllowMultipleArgumentsPerToken = false };
        var negative = new Option<string>("--negative-prompt") { Description = "prompt of the unconditional branch", DefaultValueFactory = _ => "" };
        var guidance2 = new Option<double?>("--guidance-scale-2", "--guidance-2") { Description = "guidance scale of the low-noise expert (default: --guidance)" };
        var memory = new Option<long>("--probe-memory-mb") { Description = "memory budget of one block of attention rows", DefaultValueFactory = _ => 256 };
        var command = new Command("experts", "Compare the attention of the two Wan2.2 A14B experts: frame-map structure, sinks, entropy and sparsity per self-attention site");
        study.AddTo(command);
        foreach (var o in new Option[] { prompt, negative, guidance2, memory }) command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(result =>
        {
            var options = common.Resolve(result);
            string model = study.ModelPath(result);
            using var pipeline = WanPipeline.Load(model, options);
            var request = study.Request(result, pipeline.Defaults) with
            {
                Prompts = result.GetValue(prompt)!,
                NegativePrompt = result.GetValue(negative)!,
                GuidanceScale2 = result.GetValue(guidance2),
                Seed = options.Seed,
            };
            var comparison = ExpertComparison.Run(pipeline, request, result.GetValue(memory) << 20);
            var written = ExpertComparison.Write(comparison, result.GetValue(study.Out)!);
            var table = new Table().AddColumns("site", "frame-map r", "Δ top mass", "Δ entropy", "Δ coverage90");
            foreach (var c in comparison.Comparisons)
                table.AddRow(c.Site, $"{c.FrameMaps.Pearson:F3}", $"{c.TopMassDifference:+0.000;-0.000}", $"{c.EntropyDifference:+0.000;-0.000}", $"{c.Coverage90Difference:+0.000;-0.000}");
            AnsiConsole.Write(table);
            AnsiConsole.WriteLine($"Δ = low-noise expert (transformer_2) − high-noise expert (transformer); wrote {string.Join(", ", written)}");
            return 0;
        });
        return command;
    }
}
