using TorchSharp;
using VDiTLens.Pipelines;
using VDiTLens.Procedural;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Training;

/// <summary>
/// Generates clips with the pixel-space tiny model through <see cref="WanPipeline"/> (folder loaded by the standard
/// loaders, word-level tokenizer, classifier-free guidance against the empty prompt, the folder's scheduler), with one
/// noise seed per prompt so evaluation prompts are reproducible one by one.
/// </summary>
public sealed class TinySampler : IDisposable
{
    private readonly WanPipeline _pipeline;

    public int Frames { get; init; } = ClipSpec.DefaultFrames;
    public int Height { get; init; } = ClipSpec.DefaultHeight;
    public int Width { get; init; } = ClipSpec.DefaultWidth;

    /// <summary>The pipeline's max_sequence_length: rows the prompt states are padded to (the model trained on 16).</summary>
    public int TextLength { get; init; } = CaptionVocabulary.DefaultMaxLength;

    public TinySampler(string folder, ComputeOptions options)
    {
        _pipeline = WanPipeline.Load(folder, options);
        if (_pipeline.Vae is not null || _pipeline.Transformer.Config.in_channels != 3)
            throw new VDiTLensException($"{folder}: not a pixel-space model (needs \"vae\": [null, null] and a 3-channel transformer)");
    }

    /// <summary>Clips [B, 3, F, H, W] in [-1, 1] on the CPU, one per prompt; sample i starts from noise seeded by seeds[i].</summary>
    public Tensor Generate(IReadOnlyList<string> prompts, IReadOnlyList<long> seeds, int steps = 20, double guidance = 5.0)
    {
        if (prompts.Count != seeds.Count) throw new ArgumentException("one seed per prompt is needed");
        using var scope = torch.NewDisposeScope();
        var noise = torch.cat(seeds.Select(s =>
        {
            using var generator = new Generator((ulong)s);
            return torch.randn(new long[] { 1, 3, Frames, Height, Width }, generator: generator);
        }).ToList(), 0);
        var request = new GenerationRequest
        {
            Prompts = prompts, Steps = steps, GuidanceScale = guidance, Frames = Frames, Height = Height, Width = Width,
            MaxSequenceLength = TextLength, InitialLatents = noise,
        };
        var latents = _pipeline.Denoise(request);
        return latents.to(ScalarType.Float32).clamp(-1, 1).cpu().MoveToOuterDisposeScope();
    }

    public void Dispose() => _pipeline.Dispose();
}
