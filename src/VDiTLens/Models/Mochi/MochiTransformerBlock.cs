using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Models.Mochi;

/// <summary>
/// diffusers' MochiTransformerBlock: adaptive float32 RMS norms with tanh gates around joint attention and SwiGLU
/// feed-forwards, one per stream. A context_pre_only block (the last) leaves the text stream unchanged.
/// </summary>
public sealed class MochiTransformerBlock : nn.Module
{
    private const double Eps = 1e-6;
    public MochiRmsNormZero norm1;
    public nn.Module norm1_context;
    public MochiAttention attn1;
    public MochiFeedForward ff;
    public MochiFeedForward? ff_context;

    public bool ContextPreOnly { get; }

    public MochiTransformerBlock(MochiConfig c, int layer, bool contextPreOnly, AttentionSeam seam, Device device, ScalarType dtype) : base("MochiTransformerBlock")
    {
        ContextPreOnly = contextPreOnly;
        long dim = c.InnerDim, context = c.pooled_projection_dim;
        register_module("norm1", norm1 = new MochiRmsNormZero(dim, 4 * dim, Eps, device, dtype));
        norm1_context = contextPreOnly
            ? new MochiLayerNormContinuous(context, dim, Eps, device, dtype)
            : new MochiRmsNormZero(dim, 4 * context, Eps, device, dtype);
        register_module("norm1_context", norm1_context);
        register_module("attn1", attn1 = new MochiAttention(c, layer, contextPreOnly, seam, device, dtype));
        register_module("ff", ff = new MochiFeedForward(dim, 4 * dim * 2 / 3, device, dtype));
        if (!contextPreOnly)
            register_module("ff_context", ff_context = new MochiFeedForward(context, 4 * context * 2 / 3, device, dtype));
    }

    public (Tensor Video, Tensor Text) Forward(Tensor video, Tensor text, Tensor temb, (Tensor Cos, Tensor Sin) rotary, Tensor valid, TokenLayout layout,
        PrefixKeyMask? prefixKeys = null)
    {
        using var scope = torch.NewDisposeScope();
        var f = ScalarType.Float32;
        var (normed, gateMsa, scaleMlp, gateMlp) = norm1.Forward(video, temb);
        Tensor normedText;
        (Tensor GateMsa, Tensor ScaleMlp, Tensor GateMlp)? textModulation = null;
        if (norm1_context is MochiRmsNormZero zero)
        {
            var (nt, g1, s2, g2) = zero.Forward(text, temb);
            normedText = nt;
            textModulation = (g1, s2, g2);
        }
        else
        {
            normedText = ((MochiLayerNormContinuous)norm1_context).Forward(text, temb);
        }

        var (attnVideo, attnText) = attn1.Forward(normed, normedText, rotary, valid, layout, prefixKeys);

        video = video + MochiModulatedRmsNorm.Apply(attnVideo, Eps, gateMsa.tanh().unsqueeze(1));
        var h = MochiModulatedRmsNorm.Apply(video, Eps, scaleMlp.unsqueeze(1).to(f) + 1);
        video = video + MochiModulatedRmsNorm.Apply(ff.forward(h), Eps, gateMlp.tanh().unsqueeze(1));

        if (textModulation is not { } m || attnText is null || ff_context is null)
            return (video.MoveToOuterDisposeScope(), text);

        text = text + MochiModulatedRmsNorm.Apply(attnText, Eps, m.GateMsa.tanh().unsqueeze(1));
        var ht = MochiModulatedRmsNorm.Apply(text, Eps, m.ScaleMlp.unsqueeze(1).to(f) + 1);
        text = text + MochiModulatedRmsNorm.Apply(ff_context.forward(ht), Eps, m.GateMlp.tanh().unsqueeze(1));
        return (video.MoveToOuterDisposeScope(), text.MoveToOuterDisposeScope());
    }
}
