using VDiTLens.Statistics;

namespace VDiTLens.Procedural.Scenes;

/// <summary>
/// The scene evaluator's accuracy on ground-truth renders: share of clips whose object colours are read exactly
/// (no object missed or invented), per-object attribute accuracies (objects found by their colour), camera accuracy,
/// and box-centre error and box IoU on the frames where no object in front overlaps the object's true box.
/// Confidence intervals: bootstrap over clips (objects of one clip resampled together).
/// </summary>
public sealed record SceneEvaluatorAccuracy(
    int Clips, int Objects,
    Estimate ObjectsExact, Estimate Shape, Estimate Texture, Estimate Direction, Estimate Speed, Estimate Camera,
    Estimate CentreErrorPixels, Estimate BoxIoU)
{
    /// <summary>Renders <paramref name="count"/> evaluation scenes of <paramref name="dataset"/> (indices from <paramref name="start"/>) and scores the evaluator on them.</summary>
    public static SceneEvaluatorAccuracy Measure(SceneDataset dataset, int count, long start = 0)
    {
        if (count < 2) throw new VDiTLensException($"scene count is {count}; the accuracy needs at least 2 clips");
        var clips = new ClipScore[count];
        Parallel.For(0, count, i =>
        {
            var spec = dataset.Evaluation(start + i).Spec;
            var judgement = SceneEvaluator.Evaluate(SceneRenderer.RenderPixels(spec), spec.Frames, spec.Height, spec.Width);
            clips[i] = Score(spec, judgement);
        });
        var bootstrap = new Bootstrap();
        Estimate Pooled(Func<ClipScore, (double Sum, int N)> part) =>
            bootstrap.Of(Enumerable.Range(0, count).Select(i => (double)i).ToArray(), idx =>
            {
                double sum = 0; int n = 0;
                foreach (double k in idx) { var (s, m) = part(clips[(int)k]); sum += s; n += m; }
                return n > 0 ? sum / n : double.NaN;
            });
        return new SceneEvaluatorAccuracy(count, clips.Sum(c => c.Objects),
            bootstrap.Mean(clips.Select(c => c.ObjectsExact ? 1.0 : 0).ToArray()),
            Pooled(c => (c.Shape, c.Found)), Pooled(c => (c.Texture, c.Found)), Pooled(c => (c.Direction, c.Found)),
            Pooled(c => (c.Speed, c.Found)), bootstrap.Mean(clips.Select(c => c.Camera ? 1.0 : 0).ToArray()),
            Pooled(c => (c.CentreError, c.ClearFrames)), Pooled(c => (c.IoU, c.ClearFrames)));
    }

    private sealed record ClipScore(int Objects, bool ObjectsExact, int Found, int Shape, int Texture, int Direction, int Speed,
        bool Camera, double CentreError, double IoU, int ClearFrames);

    private static ClipScore Score(SceneSpec spec, SceneJudgement judgement)
    {
        bool exact = judgement.Objects.Select(o => o.Colour).OrderBy(c => c).SequenceEqual(spec.Objects.Select(o => o.Colour).OrderBy(c => c));
        int found = 0, shape = 0, texture = 0, direction = 0, speed = 0, clear = 0;
        double centre = 0, iou = 0;
        for (int k = 0; k < spec.Objects.Count; k++)
        {
            var truth = spec.Objects[k];
            if (judgement.Of(truth.Colour) is not { } read) continue;
            found++;
            if (read.Shape == truth.Shape) shape++;
            if (read.Texture == truth.Texture) texture++;
            if (read.Direction == truth.Direction) direction++;
            if (read.Speed == truth.Speed) speed++;
            for (int f = 0; f < spec.Frames; f++)
            {
                var box = TrueBox(spec, k, f);
                bool occluded = Enumerable.Range(k + 1, spec.Objects.Count - k - 1).Any(j => TrueBox(spec, j, f).IoU(box) > 0);
                if (occluded || read.Boxes[f] is not { } seen) continue;
                clear++;
                centre += Math.Sqrt(Math.Pow((seen.X0 + seen.X1 - box.X0 - box.X1) / 2, 2) + Math.Pow((seen.Y0 + seen.Y1 - box.Y0 - box.Y1) / 2, 2));
                iou += seen.IoU(box);
            }
        }
        return new ClipScore(spec.Objects.Count, exact, found, shape, texture, direction, speed, judgement.Camera == spec.Camera, centre, iou, clear);
    }

    private static PixelBox TrueBox(SceneSpec spec, int index, int frame)
    {
        var (x, y) = spec.CentreAt(index, frame);
        double half = spec.Objects[index].SizePixels / 2;
        return new PixelBox(x - half, y - half, x + half, y + half);
    }
}
