using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Pipelines;
using VDiTLens.Procedural;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sparsity;

/// <summary>One generation: final latents and the decoded video [B, F, H, W, 3] in [0, 1], both on the CPU in float32.</summary>
public sealed record GeneratedSample(Tensor Latents, Tensor Video) : IDisposable
{
    public void Dispose()
    {
        Latents.Dispose();
        Video.Dispose();
    }
}

/// <summary>
/// Produces the sweep's generations: the same prompts and seed every time, with whatever probes and interventions are
/// attached to <see cref="Seam"/>.
/// </summary>
public interface ISweepGenerator
{
    AttentionSeam Seam { get; }

    /// <summary>What the run is (model, prompts, seed, sizes…), compared when a sweep resumes.</summary>
    IReadOnlyDictionary<string, string> Fingerprint { get; }

    /// <summary>The prompts' procedural specs (for the evaluator's accuracy), or null when the prompts are free text.</summary>
    IReadOnlyList<ClipSpec>? Specs { get; }

    /// <summary>Transformer forward calls of one generation (steps × guidance branches run apart).</summary>
    int ForwardsPerGeneration { get; }

    GeneratedSample Generate(CancellationToken cancellation);
}

/// <summary>Generations with any <see cref="ITextToVideoPipeline"/> and a fixed request.</summary>
public sealed class PipelineSweepGenerator(ITextToVideoPipeline pipeline, GenerationRequest request, string model, IReadOnlyList<ClipSpec>? specs = null) : ISweepGenerator
{
    public AttentionSeam Seam => pipeline.Seam;
    public IReadOnlyList<ClipSpec>? Specs { get; } = specs;

    public IReadOnlyDictionary<string, string> Fingerprint { get; } = new SortedDictionary<string, string>(StringComparer.Ordinal)
    {
        ["model"] = Path.GetFullPath(model),
        ["prompts"] = string.Join("\n", request.Prompts),
        ["negative_prompt"] = request.NegativePrompt,
        ["seed"] = request.Seed.ToString(),
        ["steps"] = request.Steps.ToString(),
        ["guidance"] = request.GuidanceScale.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        ["size"] = $"{request.Frames}x{request.Height}x{request.Width}",
        ["max_sequence_length"] = request.MaxSequenceLength.ToString(),
        ["batch_guidance"] = request.BatchGuidance.ToString(),
        ["device"] = pipeline.Options.Device.ToString(),
        ["dtype"] = pipeline.Options.DType.ToString(),
    }.WithImage(request.Image);

    public int ForwardsPerGeneration { get; } = request.Steps * (request.GuidanceScale > 1 && !request.BatchGuidance ? 2 : 1);

    public IProgress<GenerationProgress>? StepProgress { get; set; }

    public GeneratedSample Generate(CancellationToken cancellation)
    {
        using var latents = pipeline.Denoise(request with { Cancellation = cancellation, Progress = StepProgress });
        var video = pipeline.DecodeLatents(latents);
        return new GeneratedSample(latents.to(ScalarType.Float32).cpu().clone(), video);
    }
}
