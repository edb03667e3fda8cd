using System.CommandLine;
using Spectre.Console;
using VDiTLens.Pipelines;
using VDiTLens.Reports;
using VDiTLens.Studies.Structure;

namespace VDiTLens.Cli.Commands;

/// <summary><c>vditlens edit</c>: the target prompt generated with the source's attention maps among the video tokens (lockstep, one batch).</summary>
internal static class EditCommand
{
    /// <summary>Default transfer: see docs/structure.md for the per-layer evidence behind it.</summary>
    public const string DefaultSites = EditSites.LastSelfAttention;

    public static Command Create()
    {
        var common = new CommonOptions();
        var study = new StudyOptions($"diffusers pipeline folder: {string.Join(", ", TextToVideoPipelines.SupportedClasses)}");
        var source = new Option<string>("--source-prompt") { Description = "prompt whose attention maps are kept", Required = true };
        var target = new Option<string>("--target-prompt") { Description = "prompt generated with the source's maps", Required = true };
        var sites = new Option<string>("--sites") { Description = "sites transferred: names, prefixes ending in '*', kinds, or last-self (the last block's self-attention; its joint attention for CogVideoX, Mochi-1 and HunyuanVideo)", DefaultValueFactory = _ => DefaultSites };
        var heads = Options.ListOption.Longs("--heads", "comma list of heads transferred (default: all)", Array.Empty<long>());
        var steps = new Option<string?>("--step-range") { Description = "denoising steps transferred, inclusive range a..b (default: all)" };
        var branches = new Option<string?>("--branches") { Description = "guidance branches transferred: cond, uncond (default: both)" };
        var transferText = new Option<bool>("--transfer-text") { Description = "at joint text-video sites, also transfer the text tokens' q and k (default: video tokens only)" };
        var split = new Option<bool>("--split-guidance") { Description = "run cond and uncond as two transformer calls" };
        var format = new Option<string>("--video-format") { Description = "side-by-side video: .mp4 (GIF without ffmpeg) or .gif", DefaultValueFactory = _ => ".mp4" };
        var command = new Command("edit", "Attention-map transfer: the target prompt generated with the source's self-attention maps; report section 'edit'");
        foreach (var o in new Option[] { source, target, sites, heads, steps, branches, transferText, split, format }) command.Options.Add(o);
        study.AddTo(command);
        common.AddTo(command);
        command.SetAction(result =>
        {
            var compute = common.Resolve(result);
            string videoFormat = result.GetValue(format)!;
            if (videoFormat is not (".mp4" or ".gif")) throw new VDiTLensException($"--video-format {videoFormat}: use .mp4 or .gif");
            string model = study.ModelPath(result);
            using var pipeline = TextToVideoPipelines.Load(model, compute);
            var sizes = study.Resolve(result, StudyDefaults.For(pipeline, model));
            var (min, max) = StudyOptions.Range(result.GetValue(steps), "--step-range");
            var options = new EditOptions
            {
                SourcePrompt = result.GetValue(source)!, TargetPrompt = result.GetValue(target)!, Seed = compute.Seed,
                Steps = sizes.Steps, Guidance = sizes.GuidanceScale,
                Frames = sizes.Frames, Height = sizes.Height, Width = sizes.Width,
                MaxSequenceLength = sizes.MaxSequenceLength, Image = study.FirstFrame(result),
                Sites = StudyOptions.Split(result.GetValue(sites)), Heads = result.GetValue(heads)!,
                MinStep = min, MaxStep = max, Branches = StudyOptions.Split(result.GetValue(branches)),
                BatchGuidance = !result.GetValue(split), TransferText = result.GetValue(transferText),
            };
            using var videos = StudyOptions.WithProgress("edit", progress =>
                AttentionEdit.Run(pipeline, options, new Progress.SynchronousProgress<GenerationProgress>(p => progress.Report(new StudyProgress("source | target | edited", 0, 1, p)))));
            var metrics = EditMetrics.Measure(videos, options.SourcePrompt, options.TargetPrompt);
            var report = new HtmlReport(result.GetValue(study.Out)!);
            EditReport.Write(report, options, videos, metrics, model, videoFormat);
            AnsiConsole.WriteLine($"source reads:  {EditReport.Describe(metrics.Source)}");
            AnsiConsole.WriteLine($"target reads:  {EditReport.Describe(metrics.Target)} (no transfer)");
            AnsiConsole.WriteLine($"edited reads:  {EditReport.Describe(metrics.Edited)}");
            AnsiConsole.WriteLine($"edited vs source: trajectory distance {EditReport.F(metrics.EditedTrajectoryDistance)} px, SSIM {EditReport.F(metrics.EditedSsim)}, frame-diff corr {EditReport.F(metrics.EditedFrameDifferenceCorrelation)}");
            AnsiConsole.WriteLine($"wrote {Path.Combine(report.Folder, "index.html")} (section edit) and {Path.Combine(report.Folder, EditReport.Folder)}/");
            return 0;
        });
        return command;
    }
}
