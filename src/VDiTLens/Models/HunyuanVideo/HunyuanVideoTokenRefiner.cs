using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.HunyuanVideo;

/// <summary>
/// diffusers' HunyuanVideoTokenRefiner (the model's <c>context_embedder</c>): projects the text embeddings to the
/// model width and refines them with self-attention blocks conditioned on the timestep and the masked-mean text.
/// </summary>
public sealed class HunyuanVideoTokenRefiner : nn.Module
{
    public TimestepTextConditioning time_text_embed;
    public Linear proj_in;
    public HunyuanVideoIndividualTokenRefiner token_refiner;

    public HunyuanVideoTokenRefiner(HunyuanVideoConfig c, AttentionSeam seam, Device device, ScalarType dtype) : base("HunyuanVideoTokenRefiner")
    {
        register_module("time_text_embed", time_text_embed = new TimestepTextConditioning(c.InnerDim, c.text_embed_dim, false, device, dtype, "CombinedTimestepTextProjEmbeddings"));
        register_module("proj_in", proj_in = Layers.Linear(c.text_embed_dim, c.InnerDim, device, dtype));
        register_module("token_refiner", token_refiner = new HunyuanVideoIndividualTokenRefiner(c, seam, device, dtype));
    }

    /// <param name="text">[B, L, text_embed_dim] in the model dtype</param>
    /// <param name="timestep">[B]</param>
    /// <param name="mask">[B, L] 0/1 (float or int or bool)</param>
    public Tensor Forward(Tensor text, Tensor timestep, Tensor mask, TokenLayout layout)
    {
        using var scope = torch.NewDisposeScope();
        // Masked mean with the mask as float32 (float64 stays float64, half types compute in float32), as diffusers.
        var wide = text.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var weights = mask.to(ScalarType.Float32).unsqueeze(-1);
        var pooled = ((text.to(wide) * weights.to(wide)).sum(1) / weights.sum(1).to(wide)).to(text.dtype);
        var temb = time_text_embed.Forward(timestep, pooled);
        var x = proj_in.forward(text);
        return token_refiner.Forward(x, temb, HunyuanVideoAttentionMasks.Refiner(mask), layout).MoveToOuterDisposeScope();
    }
}

/// <summary>diffusers' HunyuanVideoIndividualTokenRefiner: the stack of refiner blocks.</summary>
public sealed class HunyuanVideoIndividualTokenRefiner : nn.Module
{
    public ModuleList<HunyuanVideoIndividualTokenRefinerBlock> refiner_blocks;

    public HunyuanVideoIndividualTokenRefiner(HunyuanVideoConfig c, AttentionSeam seam, Device device, ScalarType dtype) : base("HunyuanVideoIndividualTokenRefiner")
    {
        refiner_blocks = new ModuleList<HunyuanVideoIndividualTokenRefinerBlock>();
        for (int i = 0; i < c.num_refiner_layers; i++)
            refiner_blocks.Add(new HunyuanVideoIndividualTokenRefinerBlock(c, i, seam, device, dtype));
        register_module("refiner_blocks", refiner_blocks);
    }

    public Tensor Forward(Tensor x, Tensor temb, Tensor mask, TokenLayout layout)
    {
        using var scope = torch.NewDisposeScope();
        foreach (var block in refiner_blocks)
            x = block.Forward(x, temb, mask, layout);
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>One refiner block: LayerNorm → masked self-attention → gated residual; LayerNorm → SiLU MLP → gated residual.</summary>
public sealed class HunyuanVideoIndividualTokenRefinerBlock : nn.Module
{
    // The refiner's MLP ratio is not taken from config.json: diffusers builds it with its default 4.0.
    private const double MlpRatio = 4.0;
    public LayerNorm norm1, norm2;
    public HunyuanVideoRefinerAttention attn;
    public FeedForward ff;
    public HunyuanVideoAdaNorm norm_out;

    public HunyuanVideoIndividualTokenRefinerBlock(HunyuanVideoConfig c, int index, AttentionSeam seam, Device device, ScalarType dtype)
        : base("HunyuanVideoIndividualTokenRefinerBlock")
    {
        long dim = c.InnerDim;
        var site = new AttentionSite($"context_embedder.token_refiner.refiner_blocks.{index}.attn", index, AttentionKind.Self,
            $"attn.refiner{index}.self", "refiner");
        register_module("norm1", norm1 = nn.LayerNorm(dim, 1e-6, elementwise_affine: true, device: device, dtype: dtype));
        register_module("attn", attn = new HunyuanVideoRefinerAttention(dim, c.num_attention_heads, site, seam, device, dtype));
        register_module("norm2", norm2 = nn.LayerNorm(dim, 1e-6, elementwise_affine: true, device: device, dtype: dtype));
        register_module("ff", ff = new FeedForward(dim, (long)(dim * MlpRatio), "silu", device, dtype));
        register_module("norm_out", norm_out = new HunyuanVideoAdaNorm(dim, device, dtype));
    }

    public Tensor Forward(Tensor x, Tensor temb, Tensor mask, TokenLayout layout)
    {
        using var scope = torch.NewDisposeScope();
        var attention = attn.Forward(norm1.forward(x), mask, layout);
        var (gateMsa, gateMlp) = norm_out.Forward(temb);
        x = x + attention * gateMsa;
        x = x + ff.forward(norm2.forward(x)) * gateMlp;
        return x.MoveToOuterDisposeScope();
    }
}
