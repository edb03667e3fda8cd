using TorchSharp;
using VDiTLens.Procedural;
using VDiTLens.Procedural.Scenes;

namespace VDiTLens.Studies.Structure;

/// <summary>
/// One object of a scene edit, matched by its place in the captions (the evaluator finds objects by colour: the source
/// video's object of the source caption's colour, the other videos' of the target caption's). Distances are
/// <see cref="SceneEditMetrics.TrajectoryDistance"/> to the source video's track (NaN where the object was not found).
/// <see cref="EditedAsTarget"/>: for the changed object, whether the edited video shows the target caption's changed
/// attributes; for the others, whether it shows them unchanged (found, and the shape and texture read as in the source
/// video). <see cref="TargetAsTarget"/>: the same for the target generated without transfer.
/// </summary>
public sealed record SceneObjectEdit(int Index, string SourceColour, string TargetColour, bool Changed,
    double EditedDistance, double TargetDistance, bool EditedAsTarget, bool TargetAsTarget);

/// <summary>
/// The scene evaluator's measures of an edit of a multi-object scene (captions of <see cref="SceneCaption"/>, the same
/// objects in the same order). Per object: trajectory preservation and attribute change (<see cref="SceneObjectEdit"/>);
/// for pairs whose captions name different camera motion, whether the video's camera is the target's.
/// <see cref="EditedSuccess"/>: every object's track within <see cref="Tolerance"/> pixels of the source's, the changed
/// attributes the target's, the other objects unchanged, the camera the target's where it changes;
/// <see cref="TargetSuccess"/>: the same for the target without transfer (the control arm).
/// </summary>
public sealed record SceneEditMetrics(
    IReadOnlyList<SceneObjectEdit> Objects, double Tolerance,
    double EditedTrajectoryDistance, double TargetTrajectoryDistance,
    string? TargetCamera, string? EditedCamera, string? PlainTargetCamera, bool? EditedCameraIsTarget, bool? TargetCameraIsTarget,
    bool EditedSuccess, bool TargetSuccess)
{
    /// <summary>Measures an edit's three videos [F, H, W, 3] in [0, 1]; null when the prompts are not scene captions of the same objects.</summary>
    public static SceneEditMetrics? Measure(EditVideos videos, string sourcePrompt, string targetPrompt, double tolerance) =>
        SceneCaption.Parse(sourcePrompt) is { } source && SceneCaption.Parse(targetPrompt) is { } target && source.Objects.Count == target.Objects.Count
            ? Of(source, target, Judge(videos.Source), Judge(videos.Target), Judge(videos.Edited), tolerance)
            : null;

    /// <summary>The evaluator's reading of a video [F, H, W, 3] in [0, 1].</summary>
    public static SceneJudgement Judge(torch.Tensor video)
    {
        using var scope = torch.NewDisposeScope();
        return SceneEvaluator.Evaluate(video.permute(0, 3, 1, 2) * 2 - 1);
    }

    public static SceneEditMetrics Of(SceneCaptionParts sourceCaption, SceneCaptionParts targetCaption,
        SceneJudgement source, SceneJudgement target, SceneJudgement edited, double tolerance)
    {
        if (sourceCaption.Objects.Count != targetCaption.Objects.Count)
            throw new VDiTLensException($"scene pair: the source caption names {sourceCaption.Objects.Count} objects and the target {targetCaption.Objects.Count}; an edit keeps the objects");
        var objects = new List<SceneObjectEdit>();
        for (int k = 0; k < sourceCaption.Objects.Count; k++)
        {
            var (was, wants) = (sourceCaption.Objects[k], targetCaption.Objects[k]);
            var seen = source.Of(was.Colour);
            bool changed = was != wants;
            bool AsTarget(SceneJudgement video)
            {
                if (video.Of(wants.Colour) is not { } read) return false;
                if (!changed) return seen is not null && read.Shape == seen.Shape && read.Texture == seen.Texture;
                return (was.Colour == wants.Colour || video.Of(was.Colour) is null)
                       && (was.Shape == wants.Shape || read.Shape == wants.Shape)
                       && (was.Texture == wants.Texture || read.Texture == wants.Texture);
            }
            objects.Add(new SceneObjectEdit(k, Palette.Word(was.Colour), Palette.Word(wants.Colour), changed,
                TrajectoryDistance(edited.Of(wants.Colour), seen), TrajectoryDistance(target.Of(wants.Colour), seen), AsTarget(edited), AsTarget(target)));
        }
        bool cameraChanges = sourceCaption.Camera != targetCaption.Camera;
        bool? CameraIs(SceneJudgement video) => cameraChanges ? video.Camera == targetCaption.Camera : null;
        bool Success(Func<SceneObjectEdit, double> distance, Func<SceneObjectEdit, bool> asTarget, bool? camera) =>
            objects.All(o => distance(o) <= tolerance && asTarget(o)) && camera != false;
        bool? editedCamera = CameraIs(edited), targetCamera = CameraIs(target);
        return new SceneEditMetrics(objects, tolerance,
            Mean(objects.Select(o => o.EditedDistance)), Mean(objects.Select(o => o.TargetDistance)),
            SceneCaption.CameraWord(targetCaption.Camera), Word(edited.Camera), Word(target.Camera), editedCamera, targetCamera,
            Success(o => o.EditedDistance, o => o.EditedAsTarget, editedCamera), Success(o => o.TargetDistance, o => o.TargetAsTarget, targetCamera));
    }

    /// <summary>
    /// Mean Euclidean distance (pixels) of two objects' per-frame box centres over frames where both were found; NaN if
    /// either object or every frame is missing. Box centres, not centroids: every shape fills the same square box, while
    /// the centroid moves with the shape (a triangle's sits a sixth of its size below a square's), so a shape edit that
    /// keeps the motion would read as moved.
    /// </summary>
    public static double TrajectoryDistance(ObjectReading? a, ObjectReading? b)
    {
        if (a is null || b is null) return double.NaN;
        var d = a.Boxes.Zip(b.Boxes).Where(p => p.First is not null && p.Second is not null)
            .Select(p => (p.First!.Value, p.Second!.Value))
            .Select(p => Math.Sqrt(Math.Pow((p.Item1.X0 + p.Item1.X1 - p.Item2.X0 - p.Item2.X1) / 2, 2) + Math.Pow((p.Item1.Y0 + p.Item1.Y1 - p.Item2.Y0 - p.Item2.Y1) / 2, 2))).ToList();
        return d.Count == 0 ? double.NaN : d.Average();
    }

    private static double Mean(IEnumerable<double> values)
    {
        var finite = values.Where(double.IsFinite).ToList();
        return finite.Count == 0 ? double.NaN : finite.Average();
    }

    private static string? Word(CameraPan? pan) => pan is { } p ? SceneCaption.CameraWord(p) : null;
}
