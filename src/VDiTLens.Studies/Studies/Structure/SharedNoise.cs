using VDiTLens.Pipelines;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Structure;

/// <summary>
/// Starting latents for a batch of prompts that share one seed: every row is the noise a single-prompt request with
/// that seed starts from. (A batched request draws one noise tensor for the whole batch, as diffusers does, so its
/// rows differ; comparing prompts then varies the noise too.)
/// </summary>
public static class SharedNoise
{
    public static Tensor For(ITextToVideoPipeline pipeline, GenerationRequest request)
    {
        if (request.Prompts.Count < 1) throw new VDiTLensException("shared noise needs at least one prompt");
        using var one = pipeline.InitialLatents(request with { Prompts = new[] { request.Prompts[0] }, InitialLatents = null });
        var repeats = new long[one.dim()];
        Array.Fill(repeats, 1L);
        repeats[0] = request.Prompts.Count;
        return one.repeat(repeats);
    }
}
