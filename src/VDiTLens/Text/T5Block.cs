using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Text;

/// <summary><c>layer.0</c> of a T5 block: pre-norm self-attention with a residual.</summary>
public sealed class T5LayerSelfAttention : nn.Module
{
    public T5Attention SelfAttention;
    public RmsNorm layer_norm;

    public T5LayerSelfAttention(T5EncoderConfig config, bool hasRelativeBias, AttentionSite site, AttentionSeam seam, Device device, ScalarType dtype) : base("T5LayerSelfAttention")
    {
        register_module("SelfAttention", SelfAttention = new T5Attention(config, hasRelativeBias, site, seam, device, dtype));
        register_module("layer_norm", layer_norm = new RmsNorm(config.d_model, config.layer_norm_epsilon, device, dtype, precision: RmsNormPrecision.Float32MeanSquare));
    }

    public Tensor Forward(Tensor x, Tensor additiveMask, TokenLayout layout)
    {
        using var normed = layer_norm.forward(x);
        using var attended = SelfAttention.Forward(normed, additiveMask, layout);
        return x + attended;
    }
}

/// <summary><c>layer.1</c> of a T5 block: pre-norm feed-forward with a residual.</summary>
public sealed class T5LayerFF : nn.Module<Tensor, Tensor>
{
    public T5FeedForward DenseReluDense;
    public RmsNorm layer_norm;

    public T5LayerFF(T5EncoderConfig config, Device device, ScalarType dtype) : base("T5LayerFF")
    {
        register_module("DenseReluDense", DenseReluDense = new T5FeedForward(config, device, dtype));
        register_module("layer_norm", layer_norm = new RmsNorm(config.d_model, config.layer_norm_epsilon, device, dtype, precision: RmsNormPrecision.Float32MeanSquare));
    }

    public override Tensor forward(Tensor x)
    {
        using var normed = layer_norm.forward(x);
        using var h = DenseReluDense.forward(normed);
        return x + h;
    }
}

/// <summary>One encoder block (<c>encoder.block.{i}</c>): <c>layer.0</c> self-attention, <c>layer.1</c> feed-forward.</summary>
public sealed class T5Block : nn.Module
{
    public ModuleList<nn.Module> layer;
    private T5LayerSelfAttention AttentionLayer => (T5LayerSelfAttention)layer[0];
    private T5LayerFF FeedForwardLayer => (T5LayerFF)layer[1];

    public T5Attention Attention => AttentionLayer.SelfAttention;

    public T5Block(T5EncoderConfig config, int index, bool hasRelativeBias, AttentionSeam seam, Device device, ScalarType dtype) : base("T5Block")
    {
        var site = new AttentionSite($"encoder.block.{index}.layer.0.SelfAttention", index, AttentionKind.Self, $"attentions.{index}");
        layer = new ModuleList<nn.Module>(
            new T5LayerSelfAttention(config, hasRelativeBias, site, seam, device, dtype),
            new T5LayerFF(config, device, dtype));
        register_module("layer", layer);
    }

    public Tensor Forward(Tensor x, Tensor additiveMask, TokenLayout layout)
    {
        using var scope = torch.NewDisposeScope();
        var h = ClampHalf(AttentionLayer.Forward(x, additiveMask, layout));
        h = ClampHalf(FeedForwardLayer.forward(h));
        return h.MoveToOuterDisposeScope();
    }

    /// <summary>transformers clamps float16 activations just inside the finite range to keep T5 from overflowing.</summary>
    private static Tensor ClampHalf(Tensor x)
    {
        if (x.dtype != ScalarType.Float16) return x;
        double max = 65504.0;
        double limit = x.isinf().any().item<bool>() ? max - 1000 : max;
        return x.clamp(-limit, limit);
    }
}
