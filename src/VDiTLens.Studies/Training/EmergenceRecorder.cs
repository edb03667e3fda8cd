using System.Globalization;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Probes;
using VDiTLens.Procedural;
using VDiTLens.Procedural.Scenes;
using VDiTLens.Schedulers;
using VDiTLens.Studies.Sinks;
using static TorchSharp.torch;

namespace VDiTLens.Training;

/// <summary>One row of the emergence curve: a metric of one layer (or of the whole model, layer −1) at a training step.</summary>
public sealed record EmergencePoint(int Step, int Layer, string Kind, string Metric, double Value);

/// <summary>
/// Records the emergence curve of a training run (sink metrics, coverage and evaluator accuracy against steps) into
/// <c>emergence.csv</c>. At each call the model (in eval mode, no gradients) sees a fixed probe batch: the first
/// <see cref="TinyTrainingOptions.EmergenceClips"/> evaluation scenes at σ = <see cref="ProbeSigma"/> with fixed noise.
/// Per self-attention layer: <c>first_frame_share</c> (received mass on the first frame's tokens, heads and clips
/// averaged: the constant frame in the <see cref="TrainingArm.Bos"/> arm) with a 95 % bootstrap interval over the clips
/// (<c>first_frame_share_low</c>, <c>_high</c>) and its uniform value <c>first_frame_uniform</c>,
/// <see cref="SinkDetector"/>'s <c>peak_ratio</c> (largest key mass ÷ mean key mass over heads), <c>sink_mass</c> and
/// <c>epsilon_share</c> (Sink^ε), and <c>coverage90</c> (share of keys holding 90 % of a query's mass). Per
/// cross-attention layer: <c>pad_share</c>, the mass on the unmasked zero rows past each caption, and its uniform value
/// <c>pad_uniform</c>. Whole model (layer −1): the same clips sampled from their captions (Euler, guidance
/// <see cref="Guidance"/>) and read by <see cref="SceneEvaluator"/>: <c>objects_found</c> (caption objects whose colour
/// is found), <c>objects_correct</c> (found with shape, texture and direction right) and <c>camera_correct</c>.
/// </summary>
public sealed class EmergenceRecorder
{
    public const string FileName = "emergence.csv";
    public const double ProbeSigma = 0.5;
    public const double Guidance = 5.0;
    private const ulong NoiseSeed = 4242;
    private const string Header = "step,layer,kind,metric,value";

    private readonly TinyTrainingOptions _options;
    private readonly SceneExample[] _examples;

    public EmergenceRecorder(string folder, TinyTrainingOptions options)
    {
        if (options.Scenes is null || options.EmergenceClips < 1)
            throw new VDiTLensException("EmergenceRecorder needs TinyTrainingOptions.Scenes and EmergenceClips ≥ 1");
        _options = options;
        CsvPath = Path.Combine(folder, FileName);
        var dataset = new SceneDataset(options.Scenes);
        _examples = Enumerable.Range(0, options.EmergenceClips).Select(i => dataset.Evaluation(i)).ToArray();
    }

    public string CsvPath { get; }

    /// <summary>Measures <paramref name="model"/> at <paramref name="step"/>, appends the rows to the CSV and returns them.</summary>
    public IReadOnlyList<EmergencePoint> Record(int step, TinyModel model)
    {
        var points = new List<EmergencePoint>();
        bool training = model.Transformer.training;
        model.Train(false);
        try
        {
            using var _ = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            var device = model.Device;
            var spec = _examples[0].Spec;
            int n = _examples.Length;
            var clips = torch.tensor(_examples.SelectMany(e => SceneRenderer.RenderPixels(e.Spec)).ToArray(),
                new long[] { n, spec.Frames, 3, spec.Height, spec.Width }).permute(0, 2, 1, 3, 4).contiguous().to(device);
            var noise = Noise(clips.shape, device);
            var captions = _examples.Select(e => e.Caption).ToList();
            var (ids, mask) = CaptionVocabulary.Default.EncodeBatch(captions, _options.CaptionLength);
            var text = model.EncodeText(ids, mask, _options.CaptionLength);
            points.AddRange(Probe(step, model, clips, noise, text, mask));
            points.AddRange(Accuracy(step, model, noise, text, ids, mask));
        }
        finally { model.Train(training); }
        Append(CsvPath, points);
        return points;
    }

    private IEnumerable<EmergencePoint> Probe(int step, TinyModel model, Tensor clips, Tensor noise, Tensor text, Tensor mask)
    {
        var sigma = torch.full(new long[] { clips.shape[0] }, ProbeSigma, device: clips.device);
        var (noisy, _) = FlowMatching.Interpolate(clips, noise, sigma);
        using var probes = new ProbeSet(model.Transformer.Seam, new ProbeOptions
        {
            Probes = new[] { "mass", "entropy" },
            Filter = new AttentionSelector { Sites = new[] { "self", "cross" } },
            CoverageStride = 7,
        });
        using (model.Predict(noisy, sigma, text)) { }
        using var results = probes.Results();
        var layouts = probes.KeyLayouts;
        var lengths = mask.sum(1).cpu().data<long>().ToArray();
        var points = new List<EmergencePoint>();
        foreach (var (key, mass) in results.Of("received_mass"))
        {
            var (layer, kind) = SiteOf(key.Site);
            var perClip = mass.to(ScalarType.Float64).cpu(); // [B, H, Lk]
            long keys = perClip.shape[2];
            if (kind == AttentionKind.Cross)
            {
                double pad = 0, uniform = 0;
                for (int b = 0; b < lengths.Length; b++)
                {
                    pad += perClip[b].narrow(1, lengths[b], keys - lengths[b]).sum(1).mean().item<double>();
                    uniform += (double)(keys - lengths[b]) / keys;
                }
                points.Add(new(step, layer, "cross", "pad_share", pad / lengths.Length));
                points.Add(new(step, layer, "cross", "pad_uniform", uniform / lengths.Length));
                continue;
            }
            var layout = layouts[key.Group];
            long perFrame = keys / FramesOf(clips, model);
            var clipShares = perClip.narrow(2, 0, perFrame).sum(2).mean(new long[] { 1 }).data<double>().ToArray(); // [B]: heads averaged
            var ci = new Statistics.Bootstrap().Mean(clipShares);
            points.Add(new(step, layer, "self", "first_frame_share", ci.Value));
            points.Add(new(step, layer, "self", "first_frame_share_low", ci.Low));
            points.Add(new(step, layer, "self", "first_frame_share_high", ci.High));
            points.Add(new(step, layer, "self", "first_frame_uniform", (double)perFrame / keys));
            var sinks = SinkDetector.Detect(perClip, layout, new SinkCriteria(), new AttentionSite(key.Site, layer, kind, key.Site));
            points.Add(new(step, layer, "self", "peak_ratio", sinks.PeakRatio));
            points.Add(new(step, layer, "self", "sink_mass", sinks.SinkMass));
            points.Add(new(step, layer, "self", "epsilon_share", sinks.MaxEpsilonShare));
        }
        foreach (var (key, fraction) in results.Of("coverage_fraction"))
        {
            var (layer, kind) = SiteOf(key.Site);
            if (kind != AttentionKind.Self) continue;
            int level = Array.IndexOf(EntropyCoverage.Levels, 0.9);
            points.Add(new(step, layer, "self", "coverage90", fraction.select(-1, level).to(ScalarType.Float64).mean().item<double>()));
        }
        return points.OrderBy(p => p.Layer).ThenBy(p => p.Kind, StringComparer.Ordinal);
    }

    private IEnumerable<EmergencePoint> Accuracy(int step, TinyModel model, Tensor noise, Tensor text, Tensor ids, Tensor mask)
    {
        var (emptyIds, emptyMask) = CaptionVocabulary.Default.EncodeBatch(Enumerable.Repeat("", (int)noise.shape[0]).ToList(), _options.CaptionLength);
        var empty = model.EncodeText(emptyIds, emptyMask, _options.CaptionLength);
        var x = noise.clone();
        int steps = _options.EmergenceSamplingSteps;
        for (int i = 0; i < steps; i++)
        {
            double s0 = FlowMatching.Shift(1 - (double)i / steps, _options.SigmaShift);
            double s1 = FlowMatching.Shift(1 - (double)(i + 1) / steps, _options.SigmaShift);
            var sigma = torch.full(new long[] { x.shape[0] }, s0, device: x.device);
            var cond = model.Predict(x, sigma, text);
            var uncond = model.Predict(x, sigma, empty);
            x = x + (s1 - s0) * (uncond + Guidance * (cond - uncond));
        }
        var frames = x.clamp(-1, 1).permute(0, 2, 1, 3, 4).contiguous().cpu();
        int found = 0, correct = 0, objects = 0, camera = 0;
        for (int b = 0; b < _examples.Length; b++)
        {
            var truth = _examples[b].Spec;
            var judgement = SceneEvaluator.Evaluate(frames[b]);
            if (judgement.Camera == truth.Camera) camera++;
            foreach (var o in truth.Objects)
            {
                objects++;
                if (judgement.Of(o.Colour) is not { } read) continue;
                found++;
                if (read.Shape == o.Shape && read.Texture == o.Texture && read.Direction == o.Direction) correct++;
            }
        }
        return new EmergencePoint[]
        {
            new(step, -1, "model", "objects_found", (double)found / objects),
            new(step, -1, "model", "objects_correct", (double)correct / objects),
            new(step, -1, "model", "camera_correct", (double)camera / _examples.Length),
        };
    }

    private static long FramesOf(Tensor clips, TinyModel model) =>
        clips.shape[2] / model.Config.PatchSize[0] + (model.Config.Arm == TrainingArm.Bos ? 1 : 0);

    private static Tensor Noise(long[] shape, Device device)
    {
        using var generator = new Generator(NoiseSeed);
        return torch.randn(shape, generator: generator).to(device);
    }

    /// <summary>Layer and kind of a Wan site name, <c>blocks.{layer}.attn1</c> (self) or <c>attn2</c> (cross).</summary>
    private static (int Layer, AttentionKind Kind) SiteOf(string site)
    {
        var parts = site.Split('.');
        return (int.Parse(parts[1], CultureInfo.InvariantCulture), parts[2] == "attn2" ? AttentionKind.Cross : AttentionKind.Self);
    }

    /// <summary>Appends rows to an emergence CSV, writing its header first when the file is new.</summary>
    public static void Append(string csvPath, IEnumerable<EmergencePoint> points)
    {
        bool fresh = !File.Exists(csvPath);
        using var writer = new StreamWriter(csvPath, append: true);
        if (fresh) writer.WriteLine(Header);
        foreach (var p in points)
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{p.Step},{p.Layer},{p.Kind},{p.Metric},{p.Value:R}"));
    }

    /// <summary>The rows of an emergence CSV.</summary>
    public static IReadOnlyList<EmergencePoint> Read(string path) =>
        File.ReadLines(path).Skip(1).Where(l => l.Length > 0).Select(l =>
        {
            var f = l.Split(',');
            return new EmergencePoint(int.Parse(f[0], CultureInfo.InvariantCulture), int.Parse(f[1], CultureInfo.InvariantCulture), f[2], f[3],
                double.Parse(f[4], CultureInfo.InvariantCulture));
        }).ToList();
}
