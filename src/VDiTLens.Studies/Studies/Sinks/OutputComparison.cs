using VDiTLens.Metrics;
using VDiTLens.Procedural;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sinks;

/// <summary>How one changed generation compares with its baseline (same prompt and seed).</summary>
/// <param name="AttributesCorrect">Whether the evaluator reads the prompt's colour, shape and direction (null: no spec for the prompt).</param>
/// <param name="AgreesWithBaseline">Whether the evaluator reads the same colour, shape and direction as on the baseline video.</param>
public sealed record OutputChange(int Run, double LatentRelativeError, double Psnr, double Ssim, bool? AttributesCorrect, bool AgreesWithBaseline);

public static class OutputComparison
{
    public static OutputChange Compare(ProbedRun changed, ProbedRun baseline, ClipSpec? spec)
    {
        var judged = Judge(changed.Video);
        var reference = Judge(baseline.Video);
        return new OutputChange(changed.Run,
            RelativeL2.Of(baseline.Latents, changed.Latents),
            Psnr.MeanOverVideos(baseline.Video, changed.Video),
            Ssim.OfVideo(changed.Video, baseline.Video),
            spec is null ? null : judged.Matches(spec),
            judged.Colour == reference.Colour && judged.Shape == reference.Shape && judged.Direction == reference.Direction);
    }

    /// <summary>The evaluator's reading of a pipeline video [1, F, H, W, 3] in [0, 1].</summary>
    public static ClipJudgement Judge(Tensor video)
    {
        using var clip = video[0].permute(0, 3, 1, 2) * 2 - 1;
        return ClipEvaluator.Evaluate(clip);
    }
}

/// <summary>Means of a set of output changes (NaN-free PSNR: identical outputs count as 100 dB).</summary>
public sealed record OutputSummary(string Condition, int Runs, double LatentRelativeError, double Psnr, double Ssim, double? AttributeAccuracy, double BaselineAgreement)
{
    public const double IdenticalPsnr = 100;

    public static OutputSummary Of(string condition, IReadOnlyList<OutputChange> changes)
    {
        var specified = changes.Where(c => c.AttributesCorrect is not null).ToList();
        return new OutputSummary(condition, changes.Count,
            changes.Average(c => c.LatentRelativeError),
            changes.Average(c => double.IsFinite(c.Psnr) ? c.Psnr : IdenticalPsnr),
            changes.Average(c => c.Ssim),
            specified.Count == 0 ? null : specified.Average(c => c.AttributesCorrect!.Value ? 1.0 : 0.0),
            changes.Average(c => c.AgreesWithBaseline ? 1.0 : 0.0));
    }
}
