using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.HunyuanVideo;

/// <summary>
/// Single-stream block (diffusers' HunyuanVideoSingleTransformerBlock): [video, text] share one adaptive norm, the
/// attention and a parallel MLP whose outputs are concatenated and projected together.
/// </summary>
public sealed class HunyuanVideoSingleTransformerBlock : nn.Module
{
    public HunyuanVideoJointAttention attn;
    public AdaLayerNormZeroSingle norm;
    public Linear proj_mlp, proj_out;

    public HunyuanVideoSingleTransformerBlock(HunyuanVideoConfig c, int index, AttentionSeam seam, Device device, ScalarType dtype) : base("HunyuanVideoSingleTransformerBlock")
    {
        long dim = c.InnerDim;
        var site = new AttentionSite($"single_transformer_blocks.{index}.attn", c.num_layers + index, AttentionKind.Joint, $"attn.single{index}.joint", "single");
        register_module("attn", attn = new HunyuanVideoJointAttention(dim, c.num_attention_heads, c.attention_head_dim, false, site, seam, device, dtype));
        register_module("norm", norm = new AdaLayerNormZeroSingle(dim, device, dtype));
        register_module("proj_mlp", proj_mlp = Layers.Linear(dim, c.MlpDim, device, dtype));
        register_module("proj_out", proj_out = Layers.Linear(dim + c.MlpDim, dim, device, dtype));
    }

    public (Tensor Video, Tensor Text) Forward(Tensor video, Tensor text, Tensor temb, Tensor mask, (Tensor Cos, Tensor Sin) rotary, TokenLayout layout,
        PrefixKeyMask? prefixKeys = null)
    {
        using var scope = torch.NewDisposeScope();
        int nVideo = (int)video.shape[1];
        var residual = torch.cat(new[] { video, text }, 1);
        var (h, gate) = norm.Forward(residual, temb);
        Tensor mlp;
        using (var up = proj_mlp.forward(h)) mlp = Activations.GeluTanh(up);
        var attention = attn.ForwardJoint(h, nVideo, rotary, mask, layout, prefixKeys);
        h.Dispose();
        var joined = torch.cat(new[] { attention, mlp }, 2);
        attention.Dispose();
        mlp.Dispose();
        var projected = proj_out.forward(joined);
        joined.Dispose();
        var x = FusedOrReference.GatedResidual(residual, projected, gate, () => gate.unsqueeze(1) * projected + residual);
        return (x[.., ..nVideo].MoveToOuterDisposeScope(), x[.., nVideo..].MoveToOuterDisposeScope());
    }
}
