using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.Llama;

/// <summary>Pre-norm decoder layer: x + self_attn(input_layernorm(x)), then + mlp(post_attention_layernorm(x)).</summary>
public sealed class LlamaDecoderLayer : nn.Module
{
    public LlamaAttention self_attn;
    public LlamaMlp mlp;
    public RmsNorm input_layernorm, post_attention_layernorm;

    public LlamaDecoderLayer(LlamaConfig c, int layer, AttentionSeam seam, Device device, ScalarType dtype) : base("LlamaDecoderLayer")
    {
        register_module("self_attn", self_attn = new LlamaAttention(c, layer, seam, device, dtype));
        register_module("mlp", mlp = new LlamaMlp(c, device, dtype));
        register_module("input_layernorm", input_layernorm = new RmsNorm(c.hidden_size, c.rms_norm_eps, device, dtype, precision: RmsNormPrecision.Float32NormaliseThenGain));
        register_module("post_attention_layernorm", post_attention_layernorm = new RmsNorm(c.hidden_size, c.rms_norm_eps, device, dtype, precision: RmsNormPrecision.Float32NormaliseThenGain));
    }

    public Tensor Forward(Tensor x, (Tensor Cos, Tensor Sin) rotary, Tensor mask, TokenLayout layout)
    {
        using var scope = torch.NewDisposeScope();
        x = x + self_attn.Forward(input_layernorm.forward(x), rotary, mask, layout);
        x = x + mlp.forward(post_attention_layernorm.forward(x));
        return x.MoveToOuterDisposeScope();
    }
}
