using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.Llama;

/// <summary>
/// Llama self-attention: q/k/v projections, default rotary, key/value heads repeated for grouped-query attention
/// (query head h reads key/value head h ÷ (heads ÷ kv_heads)), the seam with a causal bool mask, o_proj.
/// </summary>
public sealed class LlamaAttention : nn.Module
{
    private readonly LlamaConfig _config;
    private readonly AttentionSeam _seam;
    public AttentionSite Site { get; }
    public Linear q_proj, k_proj, v_proj, o_proj;

    public LlamaAttention(LlamaConfig c, int layer, AttentionSeam seam, Device device, ScalarType dtype) : base("LlamaAttention")
    {
        _config = c;
        _seam = seam;
        Site = new AttentionSite($"layers.{layer}.self_attn", layer, AttentionKind.Self, $"attn.{layer}.self");
        int d = c.HeadDim;
        register_module("q_proj", q_proj = Layers.Linear(c.hidden_size, c.num_attention_heads * d, device, dtype, c.attention_bias));
        register_module("k_proj", k_proj = Layers.Linear(c.hidden_size, c.num_key_value_heads * d, device, dtype, c.attention_bias));
        register_module("v_proj", v_proj = Layers.Linear(c.hidden_size, c.num_key_value_heads * d, device, dtype, c.attention_bias));
        register_module("o_proj", o_proj = Layers.Linear(c.num_attention_heads * d, c.hidden_size, device, dtype, c.attention_bias));
    }

    /// <param name="x">[B, L, hidden]</param>
    /// <param name="mask">bool [B or 1, 1, L, L], true where a query may attend a key.</param>
    public Tensor Forward(Tensor x, (Tensor Cos, Tensor Sin) rotary, Tensor mask, TokenLayout layout)
    {
        using var scope = torch.NewDisposeScope();
        long b = x.shape[0], l = x.shape[1];
        int d = _config.HeadDim, heads = _config.num_attention_heads, kvHeads = _config.num_key_value_heads;
        var q = q_proj.forward(x).view(b, l, heads, d).transpose(1, 2);
        var k = k_proj.forward(x).view(b, l, kvHeads, d).transpose(1, 2);
        var v = v_proj.forward(x).view(b, l, kvHeads, d).transpose(1, 2);
        q = LlamaRotaryEmbedding.Apply(q, rotary.Cos, rotary.Sin);
        k = LlamaRotaryEmbedding.Apply(k, rotary.Cos, rotary.Sin);
        k = RepeatKv(k, heads / kvHeads);
        v = RepeatKv(v, heads / kvHeads);
        var output = _seam.Attend(Site, q, k, v, layout, layout, mask, 1.0 / Math.Sqrt(d));
        return o_proj.forward(output.transpose(1, 2).reshape(b, l, heads * d)).MoveToOuterDisposeScope();
    }

    /// <summary>[B, KV, L, D] → [B, KV·n, L, D], each key/value head repeated n times in a row (transformers' repeat_kv).</summary>
    public static Tensor RepeatKv(Tensor x, int n) => n == 1 ? x : x.repeat_interleave(n, 1);
}
