using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.HunyuanVideo;

/// <summary>
/// Dual-stream block (diffusers' HunyuanVideoTransformerBlock): video and text keep separate adaptive norms,
/// projections and MLPs, and meet in one joint attention over [video, text].
/// </summary>
public sealed class HunyuanVideoTransformerBlock : nn.Module
{
    public AdaLayerNormZero norm1, norm1_context;
    public HunyuanVideoJointAttention attn;
    public FeedForward ff, ff_context;

    public HunyuanVideoTransformerBlock(HunyuanVideoConfig c, int index, AttentionSeam seam, Device device, ScalarType dtype) : base("HunyuanVideoTransformerBlock")
    {
        long dim = c.InnerDim;
        var site = new AttentionSite($"transformer_blocks.{index}.attn", index, AttentionKind.Joint, $"attn.double{index}.joint", "double");
        register_module("norm1", norm1 = new AdaLayerNormZero(dim, device, dtype));
        register_module("norm1_context", norm1_context = new AdaLayerNormZero(dim, device, dtype));
        register_module("attn", attn = new HunyuanVideoJointAttention(dim, c.num_attention_heads, c.attention_head_dim, true, site, seam, device, dtype));
        register_module("ff", ff = new FeedForward(dim, c.MlpDim, "gelu-approximate", device, dtype));
        register_module("ff_context", ff_context = new FeedForward(dim, c.MlpDim, "gelu-approximate", device, dtype));
    }

    public (Tensor Video, Tensor Text) Forward(Tensor video, Tensor text, Tensor temb, Tensor mask, (Tensor Cos, Tensor Sin) rotary, TokenLayout layout,
        PrefixKeyMask? prefixKeys = null)
    {
        using var scope = torch.NewDisposeScope();
        var (h, gateMsa, shiftMlp, scaleMlp, gateMlp) = norm1.Forward(video, temb);
        var (c, cGateMsa, cShiftMlp, cScaleMlp, cGateMlp) = norm1_context.Forward(text, temb);

        var (attnVideo, attnText) = attn.Forward(h, c, rotary, mask, layout, prefixKeys);
        h.Dispose();
        c.Dispose();
        var (videoIn, textIn) = (video, text);
        video = FusedOrReference.GatedResidual(videoIn, attnVideo, gateMsa, () => videoIn + attnVideo * gateMsa.unsqueeze(1));
        text = FusedOrReference.GatedResidual(textIn, attnText, cGateMsa, () => textIn + attnText * cGateMsa.unsqueeze(1));
        attnVideo.Dispose();
        attnText.Dispose();

        var (videoMid, textMid) = (video, text);
        using (var hm = PlainLayerNorm.Modulated(videoMid, scaleMlp, shiftMlp))
        using (var ffOut = ff.forward(hm))
            video = FusedOrReference.GatedResidual(videoMid, ffOut, gateMlp, () => videoMid + gateMlp.unsqueeze(1) * ffOut);
        using (var cm = PlainLayerNorm.Modulated(textMid, cScaleMlp, cShiftMlp))
        using (var ffOut = ff_context.forward(cm))
            text = FusedOrReference.GatedResidual(textMid, ffOut, cGateMlp, () => textMid + cGateMlp.unsqueeze(1) * ffOut);
        videoMid.Dispose();
        textMid.Dispose();
        return (video.MoveToOuterDisposeScope(), text.MoveToOuterDisposeScope());
    }
}
