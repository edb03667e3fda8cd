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
        video = video + gate * av;
        text = text + textGate * at;

        (nv, nt, gate, textGate) = norm2.Forward(video, text, temb);
        var ffOut = ff.forward(torch.cat(new[] { nt, nv }, 1));
        video = video + gate * ffOut[.., (int)textLength..];
        text = text + textGate * ffOut[.., ..(int)textLength];
        return (video.MoveToOuterDisposeScope(), text.MoveToOuterDisposeScope());
    }
}
