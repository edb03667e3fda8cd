using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.CogVideoX;

/// <summary>diffusers' CogVideoXBlock: gated joint attention, then a gated feed-forward shared by text and video.</summary>
public sealed class CogVideoXBlock : nn.Module
{
    public CogVideoXLayerNormZero norm1, norm2;
    public CogVideoXAttention attn1;
    public FeedForward ff;

    public CogVideoXBlock(CogVideoXConfig c, int layer, AttentionSeam seam, Device device, ScalarType dtype) : base("CogVideoXBlock")
    {
        long dim = c.InnerDim;
        register_module("norm1", norm1 = new CogVideoXLayerNormZero(c.time_embed_dim, dim, c.norm_elementwise_affine, c.norm_eps, device, dtype));
        register_module("attn1", attn1 = new CogVideoXAttention(c,
            new AttentionSite($"transformer_blocks.{layer}.attn1", layer, AttentionKind.Joint, $"attn.{layer}.joint"), seam, device, dtype));
        register_module("norm2", norm2 = new CogVideoXLayerNormZero(c.time_embed_dim, dim, c.norm_elementwise_affine, c.norm_eps, device, dtype));
        register_module("ff", ff = new FeedForward(dim, 4 * dim, c.activation_fn, device, dtype));
    }

    public (Tensor Video, Tensor Text) Forward(Tensor video, Tensor text, Tensor temb, (Tensor Cos, Tensor Sin)? rotary, TokenLayout layout)
    {
        using var scope = torch.NewDisposeScope();
        long textLength = text.shape[1];
        var (nv, nt, gate, textGate) = norm1.Forward(video, text, temb);
        var (av, at) = attn1.Forward(nv, nt, rotary, layout);
        nv.Dispose();
        nt.Dispose();
        var (v0, t0) = (video, text);
        var (g0, tg0) = (gate, textGate);
        var v1 = FusedOrReference.GatedResidual(v0, av, g0, () => v0 + g0 * av);
        var t1 = FusedOrReference.GatedResidual(t0, at, tg0, () => t0 + tg0 * at);
        av.Dispose();
        at.Dispose();

        (nv, nt, gate, textGate) = norm2.Forward(v1, t1, temb);
        var joint = torch.cat(new[] { nt, nv }, 1);
        nv.Dispose();
        nt.Dispose();
        using var ffOut = ff.forward(joint);
        joint.Dispose();
        var (g1, tg1) = (gate, textGate);
        var ffVideo = ffOut[.., (int)textLength..];
        var ffText = ffOut[.., ..(int)textLength];
        video = FusedOrReference.GatedResidual(v1, ffVideo, g1, () => v1 + g1 * ffVideo);
        text = FusedOrReference.GatedResidual(t1, ffText, tg1, () => t1 + tg1 * ffText);
        v1.Dispose();
        t1.Dispose();
        return (video.MoveToOuterDisposeScope(), text.MoveToOuterDisposeScope());
    }
}
