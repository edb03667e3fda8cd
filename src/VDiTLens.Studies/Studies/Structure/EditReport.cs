using System.Globalization;
using System.Text;
using System.Text.Json;
using TorchSharp;
using VDiTLens.IO.Video;
using VDiTLens.Reports;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Structure;

/// <summary>Files and the report section of one edit: side-by-side video, contact sheet, metrics JSON.</summary>
public static class EditReport
{
    public const string Folder = "edit";
    public const int Scale = 4;

    /// <summary>Contact sheet with rows source, plain target, edited.</summary>
    public static void WriteSheet(EditVideos v, string path, int scale = Scale)
    {
        using var scope = torch.NewDisposeScope();
        ClipPictures.WriteContactSheet(new[] { Clip(v.Source), Clip(v.Target), Clip(v.Edited) }, path, scale);
    }

    /// <summary>The three videos side by side [1, F, H·s, (3W + 2)·s, 3] (grey 1-pixel gaps), upscaled by <paramref name="scale"/>.</summary>
    public static Tensor SideBySide(EditVideos v, int scale = Scale)
    {
        using var scope = torch.NewDisposeScope();
        var gap = torch.full(new[] { v.Source.shape[0], v.Source.shape[1], 1L, 3L }, ClipPictures.GapGrey / 255.0, dtype: v.Source.dtype);
        var row = torch.cat(new[] { v.Source, gap, v.Target, gap, v.Edited }, 2);
        return row.repeat_interleave(scale, 1).repeat_interleave(scale, 2).unsqueeze(0).contiguous().MoveToOuterDisposeScope();
    }

    public static void Write(HtmlReport report, EditOptions options, EditVideos videos, EditMetrics metrics, string model, string format = ".mp4", double fps = 8)
    {
        string sheet = $"{Folder}/contact_sheet.png";
        WriteSheet(videos, report.Asset(sheet));
        using var side = SideBySide(videos);
        var written = VideoWriter.Write(report.Asset($"{Folder}/source_target_edited{format}"), side, fps)
            .Select(f => Path.GetRelativePath(report.Folder, f).Replace('\\', '/')).ToList();
        File.WriteAllText(report.Asset($"{Folder}/metrics.json"), JsonSerializer.Serialize(new
        {
            model, source_prompt = options.SourcePrompt, target_prompt = options.TargetPrompt, seed = options.Seed, steps = options.Steps,
            guidance = options.Guidance, transfer = options.Describe(), metrics,
            edited_adherence = metrics.EditedAdherence, target_adherence = metrics.TargetAdherence,
        }, EditStudy.Json));

        var html = new StringBuilder();
        html.Append($"<p>Model <code>{HtmlReport.Escape(model)}</code>, seed {options.Seed}, {options.Steps} steps, guidance {F(options.Guidance)}. " +
                    $"Source: <i>{HtmlReport.Escape(options.SourcePrompt)}</i>; target: <i>{HtmlReport.Escape(options.TargetPrompt)}</i>. " +
                    $"Transfer: {HtmlReport.Escape(options.Describe())}.</p>");
        foreach (var f in written.Where(f => f.EndsWith(".gif", StringComparison.Ordinal)))
            html.Append(HtmlReport.Figure(f, "source | target (no transfer) | edited"));
        foreach (var f in written.Where(f => f.EndsWith(".mp4", StringComparison.Ordinal)))
            html.Append($"<figure><video src=\"{HtmlReport.Escape(f)}\" controls loop autoplay muted></video><figcaption>source | target (no transfer) | edited</figcaption></figure>");
        html.Append(HtmlReport.Figure(sheet, "rows: source, target without transfer, edited; columns: frames"));
        html.Append(HtmlReport.Table(new[] { "video", "evaluator reads", "trajectory distance to source (px)", "SSIM vs source", "PSNR vs source (dB)", "frame-diff corr vs source", "target adherence" },
            new[]
            {
                new[] { "source", Describe(metrics.Source), "0", "1", "∞", "1", "–" },
                new[] { "target (no transfer)", Describe(metrics.Target), F(metrics.TargetTrajectoryDistance), F(metrics.TargetSsim), F(metrics.TargetPsnr), F(metrics.TargetFrameDifferenceCorrelation), F(metrics.TargetAdherence) },
                new[] { "edited", Describe(metrics.Edited), F(metrics.EditedTrajectoryDistance), F(metrics.EditedSsim), F(metrics.EditedPsnr), F(metrics.EditedFrameDifferenceCorrelation), F(metrics.EditedAdherence) },
            }));
        html.Append($"<p>Data: <a href=\"{Folder}/metrics.json\">metrics.json</a>.</p>");
        report.WriteSection(21, "edit", "Attention-map transfer edit", html.ToString());
    }

    public static string Describe(JudgedAttributes a) => $"{a.Colour ?? "?"} {a.Shape ?? "?"} moving {a.Direction ?? "?"}";
    /// <summary>Three decimals, or two significant digits in E notation for tiny non-zero values (e.g. small JS divergences).</summary>
    public static string F(double v) => !double.IsFinite(v) ? (double.IsPositiveInfinity(v) ? "∞" : "–")
        : v != 0 && Math.Abs(v) < 5e-4 ? v.ToString("0.0E+0", CultureInfo.InvariantCulture) : v.ToString("F3", CultureInfo.InvariantCulture);

    /// <summary>[F, H, W, 3] in [0, 1] → [F, 3, H, W] in [-1, 1] for ClipPictures.</summary>
    private static Tensor Clip(Tensor video) => video.permute(0, 3, 1, 2) * 2 - 1;
}
