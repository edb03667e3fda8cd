using TorchSharp;
using VDiTLens.Procedural;
using VDiTLens.Procedural.Scenes;
using VDiTLens.Schedulers;
using static TorchSharp.torch;

namespace VDiTLens.Training;

/// <summary>
/// Builds the batch of a step as a pure function of (options, step): clip i of step s is training example s·B + i,
/// and the sigmas, caption dropout, text length and noise seed come from (seed, step). A resumed run
/// therefore sees exactly the data an uninterrupted one would. Clips are rendered in parallel on the CPU. With
/// <see cref="TinyTrainingOptions.Scenes"/> set, the clips are multi-object scenes instead.
/// </summary>
public sealed class TrainingBatchFactory
{
    private readonly ProceduralDataset _dataset;
    private readonly TinyTrainingOptions _options;
    private static readonly int[] LongTextLengths = { 32, 64, 128, 256, 512 };

    private readonly SceneDataset? _scenes;

    public TrainingBatchFactory(ProceduralDataset dataset, TinyTrainingOptions options)
    {
        _dataset = dataset;
        _options = options;
        _scenes = options.Scenes is { } scenes ? new SceneDataset(scenes) : null;
    }

    /// <summary>Frames, height and width of the clips.</summary>
    public (int Frames, int Height, int Width) Geometry => _scenes is { } s
        ? (s.Options.Frames, s.Options.Height, s.Options.Width)
        : (_dataset.Options.Frames, _dataset.Options.Height, _dataset.Options.Width);

    public TrainingBatch Build(int step)
    {
        int b = _options.BatchSize;
        var (frames, height, width) = Geometry;
        int clipSize = frames * 3 * height * width;
        var pixels = new float[(long)b * clipSize];
        var examples = new ProceduralExample[b];
        var exampleCaptions = new string[b];
        if (_scenes is { } scenes)
        {
            var sceneExamples = new SceneExample[b];
            for (int i = 0; i < b; i++) exampleCaptions[i] = (sceneExamples[i] = scenes.Training((long)step * b + i)).Caption;
            Parallel.For(0, b, i => SceneRenderer.RenderPixels(sceneExamples[i].Spec).CopyTo(pixels, (long)i * clipSize));
        }
        else
        {
            for (int i = 0; i < b; i++) exampleCaptions[i] = (examples[i] = _dataset.Training((long)step * b + i)).Caption;
            Parallel.For(0, b, i => ClipRenderer.RenderPixels(examples[i].Spec).CopyTo(pixels, (long)i * clipSize));
        }

        var random = new Random(StepSeed(_options.Seed, step));
        var sigmas = new float[b];
        int contrastCount = Math.Min(_options.DirectionContrastCount, b);
        var captions = new string[b];
        for (int i = 0; i < b; i++)
        {
            sigmas[i] = (float)FlowMatching.Shift(random.NextDouble(), _options.TrainingShift);
            bool drop = random.NextDouble() < _options.CaptionDropout && i >= contrastCount;
            captions[i] = drop ? "" : exampleCaptions[i];
        }
        int textLength = _options.CaptionLength;
        if (random.NextDouble() < _options.LongTextShare)
        {
            var allowed = LongTextLengths.Where(l => l <= _options.MaxTextLength).ToArray();
            if (allowed.Length > 0) textLength = allowed[random.Next(allowed.Length)];
        }

        var contrast = contrastCount > 0 ? Contrast(examples.Take(contrastCount).ToArray()) : null;
        using var scope = torch.NewDisposeScope();
        var clips = torch.tensor(pixels, new long[] { b, frames, 3, height, width }).permute(0, 2, 1, 3, 4).contiguous();
        var (ids, mask) = CaptionVocabulary.Default.EncodeBatch(captions, _options.CaptionLength);
        return new TrainingBatch(step, clips.MoveToOuterDisposeScope(), torch.tensor(sigmas).MoveToOuterDisposeScope(),
            ids.MoveToOuterDisposeScope(), mask.MoveToOuterDisposeScope(), textLength, StepSeed(_options.Seed ^ 0x6E015E, step), contrast);
    }

    /// <summary>Each example's caption re-worded for every direction (the same spec with only the direction changed).</summary>
    private DirectionContrastBatch Contrast(ProceduralExample[] examples)
    {
        var directions = Enum.GetValues<MotionDirection>();
        var captions = examples.SelectMany(e => directions.Select(d => ClipCaption.For(e.Spec with { Direction = d }))).ToArray();
        var labels = examples.Select(e => (long)Array.IndexOf(directions, e.Spec.Direction)).ToArray();
        using var scope = torch.NewDisposeScope();
        var (ids, mask) = CaptionVocabulary.Default.EncodeBatch(captions, _options.CaptionLength);
        return new DirectionContrastBatch(examples.Length, ids.DetachFromDisposeScope(), mask.DetachFromDisposeScope(),
            torch.tensor(labels).DetachFromDisposeScope());
    }

    /// <summary>SplitMix64 of (seed, step), folded to a non-negative int.</summary>
    public static int StepSeed(long seed, long step)
    {
        ulong z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)step * 0xD1B54A32D192ED03UL + 0x2545F4914F6CDD1DUL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return (int)(z & 0x7FFF_FFFF);
    }
}
