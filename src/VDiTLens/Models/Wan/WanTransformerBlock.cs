using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan;

/// <summary>
/// One Wan block: modulated self-attention with rotary, cross-attention to text, modulated feed-forward.
/// Norms and modulation run in float32 (float64 stays float64 only where diffusers keeps it), as in diffusers.
/// </summary>
public sealed class WanTransformerBlock : nn.Module
{
    public Fp32LayerNorm norm1, norm3;
    public nn.Module<Tensor, Tensor> norm2;
    public WanAttention attn1, attn2;
    public FeedForward ffn;
    public Parameter scale_shift_table;

    public WanTransformerBlock(WanConfig c, int layer, AttentionSeam seam, Device device, ScalarType dtype, ScalarType fp32Dtype) : base("WanTransformerBlock")
    {
        long dim = c.InnerDim;
        register_module("norm1", norm1 = new Fp32LayerNorm(dim, c.eps, false, device, fp32Dtype));
        register_module("attn1", attn1 = new WanAttention(dim, c.num_attention_heads, c.eps,
            new AttentionSite($"blocks.{layer}.attn1", layer, AttentionKind.Self, $"attn.{layer}.self"), seam, device, dtype));
        register_module("attn2", attn2 = new WanAttention(dim, c.num_attention_heads, c.eps,
            new AttentionSite($"blocks.{layer}.attn2", layer, AttentionKind.Cross, $"attn.{layer}.cross"), seam, device, dtype));
        norm2 = c.cross_attn_norm ? new Fp32LayerNorm(dim, c.eps, true, device, fp32Dtype) : nn.Identity();
        register_module("norm2", norm2);
        register_module("ffn", ffn = new FeedForward(dim, c.ffn_dim, "gelu-approximate", device, dtype));
        register_module("norm3", norm3 = new Fp32LayerNorm(dim, c.eps, false, device, fp32Dtype));
        register_parameter("scale_shift_table", scale_shift_table = new Parameter(torch.randn(1, 6, dim, dtype: fp32Dtype, device: device) / Math.Sqrt(dim)));
    }

    public Tensor Forward(Tensor x, Tensor text, Tensor timestepProj, (Tensor Cos, Tensor Sin) rotary, TokenLayout video, TokenLayout textLayout)
    {
        using var scope = torch.NewDisposeScope();
        var dtype = x.dtype;
        var modulation = (scale_shift_table + timestepProj.to(ScalarType.Float32)).chunk(6, 1);
        var (shift, scale, gate) = (modulation[0], modulation[1], modulation[2]);
        var (cShift, cScale, cGate) = (modulation[3], modulation[4], modulation[5]);

        var h = (norm1.forward(x.to(ScalarType.Float32)) * (scale + 1) + shift).to(dtype);
        var attn = attn1.Forward(h, null, rotary, video, video);
        x = (x.to(ScalarType.Float32) + attn * gate).to(dtype);

        h = norm2.forward(x.to(ScalarType.Float32)).to(dtype);
        x = x + attn2.Forward(h, text, null, video, textLayout);

        h = (norm3.forward(x.to(ScalarType.Float32)) * (cScale + 1) + cShift).to(dtype);
        var ff = ffn.forward(h);
        x = (x.to(ScalarType.Float32) + ff.to(ScalarType.Float32) * cGate).to(dtype);
        return x.MoveToOuterDisposeScope();
    }
}
