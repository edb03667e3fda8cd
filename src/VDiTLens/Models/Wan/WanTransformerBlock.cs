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
            new AttentionSite($"blocks.{layer}.attn2", layer, AttentionKind.Cross, $"attn.{layer}.cross"), seam, device, dtype,
            c.added_kv_proj_dim, c.added_kv_proj_dim is null ? null : ImageSite(layer)));
        norm2 = c.cross_attn_norm ? new Fp32LayerNorm(dim, c.eps, true, device, fp32Dtype) : nn.Identity();
        register_module("norm2", norm2);
        register_module("ffn", ffn = new FeedForward(dim, c.ffn_dim, "gelu-approximate", device, dtype));
        register_module("norm3", norm3 = new Fp32LayerNorm(dim, c.eps, false, device, fp32Dtype));
        register_parameter("scale_shift_table", scale_shift_table = new Parameter(torch.randn(1, 6, dim, dtype: fp32Dtype, device: device) / Math.Sqrt(dim)));
    }

    /// <summary>
    /// The cross-attention to image tokens of a Wan2.1 I2V block: a cross site of stream <c>image</c>, named after the
    /// module that holds its projections (<c>blocks.{i}.attn2</c>) with <c>.image</c> appended.
    /// </summary>
    public static AttentionSite ImageSite(int layer) =>
        new($"blocks.{layer}.attn2.image", layer, AttentionKind.Cross, $"attn.{layer}.cross_image", "image");

    /// <param name="image">Projected image tokens [B, N, dim] (Wan2.1 I2V); null for text-only cross-attention.</param>
    public Tensor Forward(Tensor x, Tensor text, Tensor timestepProj, (Tensor Cos, Tensor Sin) rotary, TokenLayout video, TokenLayout textLayout,
        Tensor? image = null, TokenLayout? imageLayout = null)
    {
        // Intermediates are disposed as soon as they are used, so that a block holds at most a few at a time.
        using var scope = torch.NewDisposeScope();
        var modulation = Modulation(scale_shift_table, timestepProj, 6);
        var (shift, scale, gate) = (modulation[0], modulation[1], modulation[2]);
        var (cShift, cScale, cGate) = (modulation[3], modulation[4], modulation[5]);

        Tensor afterSelf, afterCross, output;
        using (var h = WanElementwise.ModulatedNorm(norm1, x, scale, shift))
        using (var attn = attn1.Forward(h, null, rotary, video, video))
            afterSelf = WanElementwise.GatedResidual(x, attn, gate, upcastY: false);

        using (var h = CrossNorm(afterSelf))
        using (var attn = attn2.Forward(h, text, null, video, textLayout, image, imageLayout))
            afterCross = afterSelf + attn;
        afterSelf.Dispose();

        using (var h = WanElementwise.ModulatedNorm(norm3, afterCross, cScale, cShift))
        using (var ff = ffn.forward(h))
            output = WanElementwise.GatedResidual(afterCross, ff, cGate, upcastY: true);
        afterCross.Dispose();
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// table [1, n, dim] + projection [B, n, dim] → n tensors [B, 1, dim]; per-token projections [B, L, n, dim] (Wan2.2
    /// TI2V) → n tensors [B, L, dim]. <paramref name="upcast"/>: the projection in float32 first, as the blocks add
    /// <c>temb.float()</c> (the output norm adds temb as it is).
    /// </summary>
    public static Tensor[] Modulation(Tensor table, Tensor projection, int n, bool upcast = true)
    {
        var p = upcast ? projection.to(ScalarType.Float32) : projection;
        if (projection.dim() == 3) return (table + p).chunk(n, 1);
        return (table.unsqueeze(0) + p).chunk(n, 2).Select(t => t.squeeze(2)).ToArray();
    }

    private Tensor CrossNorm(Tensor x) => norm2 is Fp32LayerNorm norm
        ? WanElementwise.ModulatedNorm(norm, x, null, null)
        : norm2.forward(x.to(ScalarType.Float32)).to(x.dtype);
}
