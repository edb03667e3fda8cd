using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Models.Common;
using VDiTLens.Models.Wan;
using VDiTLens.Procedural;
using VDiTLens.Runtime;
using VDiTLens.Schedulers;
using VDiTLens.Text;
using static TorchSharp.torch;

namespace VDiTLens.Training;

/// <summary>
/// A minimal text-to-video sampler for the pixel-space tiny model folder, loaded through the standard loaders
/// (transformer, text encoder, scheduler): classifier-free guidance against the empty prompt, the folder's scheduler,
/// latents = the video in [-1, 1]. Stands in for WanPipeline's pixel-space path until that is available.
/// </summary>
public sealed class TinySampler : IDisposable
{
    private readonly WanTransformer3DModel _transformer;
    private readonly ITextEncoder _textEncoder;
    private readonly IScheduler _scheduler;
    private readonly ComputeOptions _options;

    public int Frames { get; init; } = ClipSpec.DefaultFrames;
    public int Height { get; init; } = ClipSpec.DefaultHeight;
    public int Width { get; init; } = ClipSpec.DefaultWidth;

    /// <summary>Rows the prompt states are zero-padded to (the model was trained with 16 to 512).</summary>
    public int TextLength { get; init; } = CaptionVocabulary.DefaultMaxLength;

    public TinySampler(string folder, ComputeOptions options)
    {
        _options = options;
        if (!PipelineFolder.IsPipeline(folder))
            throw new VDiTLensException($"{folder}: no model_index.json; pass the tiny model's pipeline folder (e.g. models/vditlens-tiny)");
        CheckVocabulary(Path.Combine(folder, "tokenizer", "vocab.json"));
        var transformer = TransformerLoader.Load(folder, options);
        _transformer = transformer as WanTransformer3DModel
            ?? throw new VDiTLensException($"{folder}/transformer: {transformer.ClassName} is not a WanTransformer3DModel");
        if (_transformer.Config.in_channels != 3)
            throw new VDiTLensException($"{folder}/transformer/config.json: field 'in_channels' is {_transformer.Config.in_channels}; this sampler is for pixel-space (3-channel) models");
        _textEncoder = TextEncoderLoader.Load(folder, options);
        _scheduler = SchedulerLoader.Load(Path.Combine(folder, "scheduler"));
    }

    /// <summary>Clips [B, 3, F, H, W] in [-1, 1] on the CPU, one per prompt; sample i starts from noise seeded by seeds[i].</summary>
    public Tensor Generate(IReadOnlyList<string> prompts, IReadOnlyList<long> seeds, int steps = 20, double guidance = 5.0)
    {
        if (prompts.Count != seeds.Count) throw new ArgumentException("one seed per prompt is needed");
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var device = _options.Device;
        int b = prompts.Count;
        var (ids, mask) = CaptionVocabulary.Default.EncodeBatch(prompts.Concat(Enumerable.Repeat("", b)).ToList());
        var text = PromptEmbeddings.ZeroPastLength(_textEncoder.Encode(ids.to(device), mask.to(device)), mask);
        if (TextLength > text.shape[1]) text = nn.functional.pad(text, new long[] { 0, 0, 0, TextLength - text.shape[1] });
        text = text.to(_options.DType);

        var latents = torch.cat(seeds.Select(s =>
        {
            using var generator = new Generator((ulong)s);
            return torch.randn(new long[] { 1, 3, Frames, Height, Width }, generator: generator);
        }).ToList(), 0).to(device);

        _scheduler.SetTimesteps(steps);
        _scheduler.Reset();
        var timesteps = _scheduler.Timesteps;
        for (int i = 0; i < steps; i++)
        {
            using var stepScope = torch.NewDisposeScope();
            var input = torch.cat(new[] { latents, latents }, 0).to(_options.DType);
            var t = timesteps[i].to(ScalarType.Float32).expand(2 * b).to(device);
            var velocity = _transformer.Forward(input, t, text).to(ScalarType.Float32);
            var chunks = velocity.chunk(2, 0);
            var guided = chunks[1] + guidance * (chunks[0] - chunks[1]);
            latents = _scheduler.Step(guided, i, latents).MoveToOuterDisposeScope();
        }
        return latents.clamp(-1, 1).cpu().MoveToOuterDisposeScope();
    }

    private static void CheckVocabulary(string file)
    {
        var json = ModelFolder.ReadJsonObject(file);
        var words = json["words"]?.AsArray().Select(w => w?.GetValue<string>()).ToArray();
        if (json["type"]?.GetValue<string>() != "word_level" || words is null || !words.SequenceEqual(CaptionVocabulary.Default.Words))
            throw new VDiTLensException($"{file}: not the procedural caption vocabulary (type word_level with CaptionVocabulary's words); this sampler tokenises with CaptionVocabulary");
    }

    public void Dispose()
    {
        _transformer.Dispose();
        _textEncoder.Dispose();
    }
}
