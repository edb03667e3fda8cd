using VDiTLens.Procedural;
using VDiTLens.Procedural.Scenes;

namespace VDiTLens.Studies.Structure;

/// <summary>
/// Prompt pairs of multi-object scenes for the edit study, captioned by <see cref="SceneCaption"/> from scenes of
/// <see cref="SceneDataset.Evaluation"/> with at least 2 objects (so there is an object that must stay as it was).
/// Appearance pairs change one attribute of one object (kinds "colour", "texture", "shape" in turn, the object in turn;
/// a new colour is one no other object has) and keep every object's motion and the camera. Camera pairs ("camera")
/// keep the objects and, over the noisy background a pan needs, name a pan against none, none against a pan, and one
/// pan against another, in turn.
/// </summary>
public static class ScenePairs
{
    public const int DefaultAppearance = 6, DefaultCamera = 3;
    private static readonly string[] Kinds = { "colour", "texture", "shape" };

    public static IReadOnlyList<EditPair> Build(int appearance = DefaultAppearance, int camera = DefaultCamera, SceneDatasetOptions? scenes = null) =>
        Scenes(appearance, camera, scenes).Select(p => new EditPair(SceneCaption.For(p.Source), SceneCaption.For(p.Target), p.Changes)).ToList();

    /// <summary>The scenes the pairs are captioned from: a perfect edit of the source scene draws the target scene (same positions).</summary>
    public static IReadOnlyList<(SceneSpec Source, SceneSpec Target, string Changes)> Scenes(int appearance = DefaultAppearance, int camera = DefaultCamera, SceneDatasetOptions? scenes = null)
    {
        if (appearance < 0 || camera < 0 || appearance + camera == 0)
            throw new VDiTLensException($"scene pairs: {appearance} appearance and {camera} camera pairs; ask for at least one");
        var dataset = new SceneDataset(scenes ?? new SceneDatasetOptions());
        var bases = Enumerable.Range(0, int.MaxValue).Select(i => dataset.Evaluation(i).Spec).Where(s => s.Objects.Count >= 2);
        var pairs = new List<(SceneSpec, SceneSpec, string)>();
        foreach (var (spec, n) in bases.Take(appearance).Select((s, n) => (s, n)))
        {
            string kind = Kinds[n % Kinds.Length];
            pairs.Add((spec, Change(spec, n / Kinds.Length % spec.Objects.Count, kind), kind));
        }
        foreach (var (spec, n) in bases.Skip(appearance).Take(camera).Select((s, n) => (s, n)))
        {
            var pan = (CameraPan)(1 + n % 4);
            var turned = (CameraPan)(1 + (n + 1) % 4);
            var (from, to) = (n % 3) switch { 0 => (pan, CameraPan.Static), 1 => (CameraPan.Static, pan), _ => (pan, turned) };
            var noisy = spec with { Background = BackgroundKind.Noisy };
            pairs.Add((noisy with { Camera = from }, noisy with { Camera = to }, "camera"));
        }
        return pairs;
    }

    private static SceneSpec Change(SceneSpec spec, int index, string kind)
    {
        var objects = spec.Objects.ToArray();
        var o = objects[index];
        objects[index] = kind switch
        {
            "colour" => o with
            {
                Colour = Enumerable.Range(1, Enum.GetValues<ObjectColour>().Length - 1).Select(d => (ObjectColour)(((int)o.Colour + d) % Enum.GetValues<ObjectColour>().Length))
                    .First(c => spec.Objects.All(other => other.Colour != c)),
            },
            "texture" => o with { Texture = (ObjectTexture)(((int)o.Texture + 1) % Enum.GetValues<ObjectTexture>().Length) },
            _ => o with { Shape = (ObjectShape)(((int)o.Shape + 1) % Enum.GetValues<ObjectShape>().Length) },
        };
        return spec with { Objects = objects };
    }
}
