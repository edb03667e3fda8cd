using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan;

/// <summary>
/// diffusers' WanImageEmbedding (<c>condition_embedder.image_embedder</c>, Wan2.1 I2V / FLF2V): the image encoder's
/// hidden states [B, N, image_dim] → FP32 LayerNorm → GELU feed-forward → FP32 LayerNorm → [B, N, dim]. With
/// <c>pos_embed</c> (FLF2V) the rows come in pairs (first and last frame's image) and are joined to [B / 2, 2N, dim]
/// before the position embedding is added.
/// </summary>
public sealed class WanImageEmbedding : nn.Module
{
    public Fp32LayerNorm norm1, norm2;
    public FeedForward ff;
    public Parameter? pos_embed;

    public WanImageEmbedding(long inFeatures, long outFeatures, int? posEmbedSeqLen, Device device, ScalarType dtype, ScalarType fp32Dtype) : base("WanImageEmbedding")
    {
        // FP32LayerNorm(in_features) with torch's defaults: eps 1e-5, affine
        register_module("norm1", norm1 = new Fp32LayerNorm(inFeatures, 1e-5, true, device, fp32Dtype));
        register_module("ff", ff = new FeedForward(inFeatures, inFeatures, "gelu", device, dtype, outDim: outFeatures));
        register_module("norm2", norm2 = new Fp32LayerNorm(outFeatures, 1e-5, true, device, fp32Dtype));
        if (posEmbedSeqLen is { } n)
            register_parameter("pos_embed", pos_embed = new Parameter(torch.zeros(new long[] { 1, n, inFeatures }, dtype: dtype, device: device)));
    }

    /// <summary>Image tokens per video after the embedder: N, or 2N with the position embedding.</summary>
    public long TokensPerVideo(long tokensPerImage) => pos_embed is null ? tokensPerImage : 2 * tokensPerImage;

    /// <param name="image">[B, N, image_dim] (FLF2V: [2B, N, image_dim], each video's two images adjacent).</param>
    public Tensor Forward(Tensor image)
    {
        using var scope = torch.NewDisposeScope();
        var x = image;
        if (pos_embed is not null)
        {
            if (image.shape[0] % 2 != 0 || 2 * image.shape[1] != pos_embed.shape[1])
                throw new VDiTLensException($"encoder_hidden_states_image must be [2 × batch, {pos_embed.shape[1] / 2}, {image.shape[2]}] (two images a video, pos_embed_seq_len {pos_embed.shape[1]}); got [{string.Join(", ", image.shape)}]");
            x = x.reshape(-1, 2 * image.shape[1], image.shape[2]) + pos_embed;
        }
        var h = norm2.forward(ff.forward(norm1.forward(x)));
        return h.MoveToOuterDisposeScope();
    }
}
