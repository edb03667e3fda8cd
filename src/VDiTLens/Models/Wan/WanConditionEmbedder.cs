using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan;

/// <summary>Time, text and (Wan2.1 I2V) image embeddings: diffusers' WanTimeTextImageEmbedding.</summary>
public sealed class WanConditionEmbedder : nn.Module
{
    private readonly int _freqDim;
    public TimestepEmbedding time_embedder;
    public Linear time_proj;
    public TimestepEmbedding text_embedder;
    /// <summary>Null without image conditioning (image_dim null).</summary>
    public WanImageEmbedding? image_embedder;

    public WanConditionEmbedder(WanConfig c, Device device, ScalarType dtype, ScalarType timeDtype) : base("WanTimeTextImageEmbedding")
    {
        _freqDim = c.freq_dim;
        register_module("time_embedder", time_embedder = new TimestepEmbedding(c.freq_dim, c.InnerDim, device, timeDtype));
        register_module("time_proj", time_proj = Layers.Linear(c.InnerDim, c.InnerDim * 6, device, dtype));
        register_module("text_embedder", text_embedder = new TimestepEmbedding(c.text_dim, c.InnerDim, device, dtype, activation: "gelu_tanh"));
        if (c.image_dim is { } imageDim)
            register_module("image_embedder", image_embedder = new WanImageEmbedding(imageDim, c.InnerDim, c.pos_embed_seq_len, device, dtype, timeDtype));
    }

    /// <param name="timestep">[B], or [B, L] per token (Wan2.2 TI2V).</param>
    /// <returns>temb [B, dim] (per token: [B, L, dim]), timestep projection [B, 6, dim] ([B, L, 6, dim]), projected text [B, L, dim].</returns>
    public (Tensor Temb, Tensor TimestepProj, Tensor Text) Forward(Tensor timestep, Tensor text)
    {
        using var scope = torch.NewDisposeScope();
        var sinusoid = TimestepSinusoids.Embed(timestep.flatten(), _freqDim, flipSinToCos: true, downscaleFreqShift: 0);
        if (timestep.dim() == 2) sinusoid = sinusoid.unflatten(0, timestep.shape);
        var timeDtype = time_embedder.linear_1.weight!.dtype;
        var temb = time_embedder.forward(sinusoid.to(timeDtype)).to(text.dtype);
        var proj = time_proj.forward(nn.functional.silu(temb)).unflatten(temb.dim() - 1, new long[] { 6, -1 });
        var projectedText = text_embedder.forward(text);
        return (temb.MoveToOuterDisposeScope(), proj.MoveToOuterDisposeScope(), projectedText.MoveToOuterDisposeScope());
    }
}
