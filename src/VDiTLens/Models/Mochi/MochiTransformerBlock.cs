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

        normed.Dispose();
        normedText.Dispose();
        video = Residual(video, attnVideo, ff, gateMsa, scaleMlp, gateMlp);
        attnVideo.Dispose();

        if (textModulation is not { } m || attnText is null || ff_context is null)
            return (video.MoveToOuterDisposeScope(), text);

        text = Residual(text, attnText, ff_context, m.GateMsa, m.ScaleMlp, m.GateMlp);
        return (video.MoveToOuterDisposeScope(), text.MoveToOuterDisposeScope());
    }

    /// <summary>x + norm(attn)·tanh(gate_msa), then + norm(ff(norm(·)·(1 + scale_mlp)))·tanh(gate_mlp); intermediates freed early.</summary>
    private static Tensor Residual(Tensor x, Tensor attention, MochiFeedForward feedForward, Tensor gateMsa, Tensor scaleMlp, Tensor gateMlp)
    {
        using var scope = torch.NewDisposeScope();
        var afterAttention = MochiModulatedRmsNorm.Modulated(x, attention, Eps, gateMsa.tanh());
        Tensor ffOut;
        using (var h = MochiModulatedRmsNorm.Modulated(null, afterAttention, Eps, scaleMlp.to(ScalarType.Float32) + 1))
            ffOut = feedForward.forward(h);
        var output = MochiModulatedRmsNorm.Modulated(afterAttention, ffOut, Eps, gateMlp.tanh());
        return output.MoveToOuterDisposeScope();
    }
}
