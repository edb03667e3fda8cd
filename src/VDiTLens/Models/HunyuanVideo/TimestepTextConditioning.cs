using TorchSharp;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.HunyuanVideo;

/// <summary>
/// Timestep (+ optional guidance) sinusoid embeddings plus a projection of a pooled text vector, summed:
/// diffusers' CombinedTimestepTextProjEmbeddings (the refiner's, no guidance) and HunyuanVideoConditionEmbedding
/// (the model's, with <c>guidance_embedder</c> when guidance_embeds). <c>text_embedder</c> is a
/// PixArtAlphaTextProjection with SiLU, which has TimestepEmbedding's layout (linear_1, act, linear_2).
/// </summary>
public sealed class TimestepTextConditioning : nn.Module
{
    private const int SinusoidDim = 256;
    public TimestepEmbedding timestep_embedder;
    public TimestepEmbedding text_embedder;
    public TimestepEmbedding? guidance_embedder;

    public TimestepTextConditioning(long dim, long pooledDim, bool withGuidance, Device device, ScalarType dtype, string name)
        : base(name)
    {
        register_module("timestep_embedder", timestep_embedder = new TimestepEmbedding(SinusoidDim, dim, device, dtype));
        register_module("text_embedder", text_embedder = new TimestepEmbedding(pooledDim, dim, device, dtype, activation: "silu"));
        if (withGuidance)
            register_module("guidance_embedder", guidance_embedder = new TimestepEmbedding(SinusoidDim, dim, device, dtype));
    }

    /// <param name="timestep">[B] (any numeric dtype; sinusoids are computed in float32)</param>
    /// <param name="pooled">[B, pooledDim] in the model dtype</param>
    /// <param name="guidance">[B]; required when the module has a guidance embedder</param>
    public Tensor Forward(Tensor timestep, Tensor pooled, Tensor? guidance = null)
    {
        using var scope = torch.NewDisposeScope();
        var conditioning = timestep_embedder.forward(Sinusoids(timestep, pooled.dtype));
        if (guidance_embedder is not null)
        {
            if (guidance is null)
                throw new VDiTLensException("input 'guidance' is missing: this model has guidance_embeds = true (HunyuanVideoPipeline passes guidance_scale * 1000)");
            conditioning = conditioning + guidance_embedder.forward(Sinusoids(guidance, pooled.dtype));
        }
        return (conditioning + text_embedder.forward(pooled)).MoveToOuterDisposeScope();
    }

    private static Tensor Sinusoids(Tensor t, ScalarType dtype) =>
        TimestepSinusoids.Embed(t, SinusoidDim, flipSinToCos: true, downscaleFreqShift: 0).to(dtype);
}
