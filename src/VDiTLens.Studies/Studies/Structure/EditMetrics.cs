using TorchSharp;
using VDiTLens.Metrics;
using VDiTLens.Procedural;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Structure;

/// <summary>What the clip evaluator reads from one video (null = unknown).</summary>
public sealed record JudgedAttributes(string? Colour, string? Shape, string? Direction, double Confidence)
{
    public static JudgedAttributes Of(ClipJudgement j) =>
        new(j.Colour is { } c ? Palette.Word(c) : null, j.Shape is { } s ? Palette.Word(s) : null,
            j.Direction is { } d ? Palette.Word(d) : null, j.Confidence);
}

/// <summary>Colour, shape and direction words named in a prompt (null when the prompt names none).</summary>
public sealed record PromptAttributes(ObjectColour? Colour, ObjectShape? Shape, MotionDirection? Direction)
{
    public static PromptAttributes Parse(string prompt)
    {
        var words = CaptionVocabulary.Tokenise(prompt);
        T? Find<T>() where T : struct, Enum => Enum.GetValues<T>().Cast<T?>().FirstOrDefault(v => words.Contains(Palette.Word(v!.Value)));
        return new PromptAttributes(Find<ObjectColour>(), Find<ObjectShape>(), Find<MotionDirection>());
    }
}

/// <summary>
/// Layout/motion preservation and target adherence of an edit. Preservation compares the edited video with the source:
/// trajectory distance (mean pixel distance of the evaluator's per-frame object centroids, frames where both are
/// found), SSIM, PSNR and frame-difference correlation; the same numbers for the plain target give the baseline.
/// Adherence: whether the edited video shows the colour / shape the target prompt names where it differs from the source.
/// </summary>
public sealed record EditMetrics(
    JudgedAttributes Source, JudgedAttributes Target, JudgedAttributes Edited,
    double EditedTrajectoryDistance, double TargetTrajectoryDistance,
    double EditedSsim, double TargetSsim,
    double EditedPsnr, double TargetPsnr,
    double EditedFrameDifferenceCorrelation, double TargetFrameDifferenceCorrelation,
    bool? EditedColourIsTarget, bool? EditedShapeIsTarget, bool? TargetColourIsTarget, bool? TargetShapeIsTarget)
{
    /// <summary>Share of the changed attributes (colour, shape) that the edited video shows as the target's; NaN when none changed.</summary>
    public double EditedAdherence => Share(EditedColourIsTarget, EditedShapeIsTarget);
    public double TargetAdherence => Share(TargetColourIsTarget, TargetShapeIsTarget);

    public static EditMetrics Measure(EditVideos videos, string sourcePrompt, string targetPrompt)
    {
        var source = Judge(videos.Source);
        var target = Judge(videos.Target);
        var edited = Judge(videos.Edited);
        var want = PromptAttributes.Parse(targetPrompt);
        var had = PromptAttributes.Parse(sourcePrompt);
        bool colourChanged = want.Colour is not null && want.Colour != had.Colour;
        bool shapeChanged = want.Shape is not null && want.Shape != had.Shape;
        bool? Is<T>(bool changed, T? seen, T? wanted) where T : struct => changed ? Equals(seen, wanted) : null;
        return new EditMetrics(
            JudgedAttributes.Of(source), JudgedAttributes.Of(target), JudgedAttributes.Of(edited),
            TrajectoryDistance(edited, source), TrajectoryDistance(target, source),
            Ssim.OfVideo(videos.Edited.unsqueeze(0), videos.Source.unsqueeze(0)), Ssim.OfVideo(videos.Target.unsqueeze(0), videos.Source.unsqueeze(0)),
            Psnr.MeanOverVideos(videos.Source.unsqueeze(0), videos.Edited.unsqueeze(0)), Psnr.MeanOverVideos(videos.Source.unsqueeze(0), videos.Target.unsqueeze(0)),
            FrameDifferenceCorrelation.Compute(videos.Edited, videos.Source), FrameDifferenceCorrelation.Compute(videos.Target, videos.Source),
            Is(colourChanged, edited.Colour, want.Colour), Is(shapeChanged, edited.Shape, want.Shape),
            Is(colourChanged, target.Colour, want.Colour), Is(shapeChanged, target.Shape, want.Shape));
    }

    /// <summary>The evaluator's judgement of a video [F, H, W, 3] in [0, 1].</summary>
    public static ClipJudgement Judge(Tensor video)
    {
        using var scope = torch.NewDisposeScope();
        return ClipEvaluator.Evaluate(video.permute(0, 3, 1, 2) * 2 - 1);
    }

    /// <summary>Mean Euclidean distance (pixels) of the two trajectories over frames where both have a centroid; NaN if none.</summary>
    public static double TrajectoryDistance(ClipJudgement a, ClipJudgement b)
    {
        var distances = a.Trajectory.Zip(b.Trajectory)
            .Where(p => p.First is not null && p.Second is not null)
            .Select(p => Math.Sqrt(Math.Pow(p.First!.Value.X - p.Second!.Value.X, 2) + Math.Pow(p.First.Value.Y - p.Second.Value.Y, 2)))
            .ToList();
        return distances.Count == 0 ? double.NaN : distances.Average();
    }

    private static double Share(bool? colour, bool? shape)
    {
        var known = new[] { colour, shape }.Where(v => v is not null).Select(v => v!.Value ? 1.0 : 0.0).ToList();
        return known.Count == 0 ? double.NaN : known.Average();
    }
}
