using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.Mochi;

/// <summary>diffusers' MochiCombinedTimestepCaptionEmbedding: conditioning = time embedding + pooled text; text projected to the context width.</summary>
public sealed class MochiTimestepCaptionEmbedding : nn.Module
{
    private readonly int _timeEmbedDim;
    public TimestepEmbedding timestep_embedder;
    public MochiAttentionPool pooler;
    public Linear caption_proj;

    public MochiTimestepCaptionEmbedding(MochiConfig c, AttentionSeam seam, Device device, ScalarType dtype) : base("MochiCombinedTimestepCaptionEmbedding")
    {
        _timeEmbedDim = c.time_embed_dim;
        register_module("timestep_embedder", timestep_embedder = new TimestepEmbedding(c.time_embed_dim, c.InnerDim, device, dtype));
        register_module("pooler", pooler = new MochiAttentionPool(MochiConfig.PoolHeads, c.text_embed_dim, c.InnerDim, seam, device, dtype));
        register_module("caption_proj", caption_proj = Layers.Linear(c.text_embed_dim, c.pooled_projection_dim, device, dtype));
    }

    /// <returns>conditioning [B, dim] and projected text [B, L, pooled_projection_dim].</returns>
    public (Tensor Conditioning, Tensor Caption) Forward(Tensor timestep, Tensor text, Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        var sinusoid = TimestepSinusoids.Embed(timestep, _timeEmbedDim, flipSinToCos: true, downscaleFreqShift: 0);
        var timeEmbedding = timestep_embedder.forward(sinusoid.to(text.dtype));
        var conditioning = timeEmbedding + pooler.Forward(text, mask);
        return (conditioning.MoveToOuterDisposeScope(), caption_proj.forward(text).MoveToOuterDisposeScope());
    }
}
