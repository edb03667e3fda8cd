using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Text;

/// <summary>
/// T5 self-attention (transformers' T5Attention / UMT5Attention, encoder side): bias-free q, k, v, o projections,
/// no 1/√d scaling, and a learned relative-position bias added to the logits together with the padding mask.
/// The attention itself goes through the seam with scale 1 and that sum as an additive mask.
/// </summary>
public sealed class T5Attention : nn.Module
{
    private readonly T5EncoderConfig _config;
    private readonly AttentionSeam _seam;
    public AttentionSite Site { get; }
    public Linear q, k, v, o;
    public Embedding? relative_attention_bias;

    public T5Attention(T5EncoderConfig config, bool hasRelativeBias, AttentionSite site, AttentionSeam seam, Device device, ScalarType dtype) : base("T5Attention")
    {
        _config = config;
        _seam = seam;
        Site = site;
        long inner = config.InnerDim;
        register_module("q", q = Layers.Linear(config.d_model, inner, device, dtype, bias: false));
        register_module("k", k = Layers.Linear(config.d_model, inner, device, dtype, bias: false));
        register_module("v", v = Layers.Linear(config.d_model, inner, device, dtype, bias: false));
        register_module("o", o = Layers.Linear(inner, config.d_model, device, dtype, bias: false));
        if (hasRelativeBias)
            register_module("relative_attention_bias", relative_attention_bias =
                nn.Embedding(config.relative_attention_num_buckets, config.num_heads, device: device, dtype: dtype));
    }

    /// <summary>The learned bias [1, heads, L, L] for a sequence of length L.</summary>
    public Tensor PositionBias(long length)
    {
        if (relative_attention_bias is null)
            throw new InvalidOperationException($"{Site.Name} has no relative_attention_bias; T5 computes it in layer 0 only");
        using var scope = torch.NewDisposeScope();
        var buckets = RelativePositionBuckets.Bidirectional(length, length, _config.relative_attention_num_buckets,
            _config.relative_attention_max_distance, relative_attention_bias.weight!.device);
        var values = relative_attention_bias.forward(buckets); // [L, L, heads]
        return values.permute(2, 0, 1).unsqueeze(0).MoveToOuterDisposeScope();
    }

    /// <param name="x">[B, L, d_model], already layer-normed.</param>
    /// <param name="additiveMask">position bias + padding mask, [B or 1, heads, L, L].</param>
    public Tensor Forward(Tensor x, Tensor additiveMask, TokenLayout layout)
    {
        using var scope = torch.NewDisposeScope();
        long b = x.shape[0], length = x.shape[1];
        var shape = new long[] { b, length, _config.num_heads, _config.d_kv };
        var qh = q.forward(x).view(shape).transpose(1, 2);
        var kh = k.forward(x).view(shape).transpose(1, 2);
        var vh = v.forward(x).view(shape).transpose(1, 2);
        var output = _seam.Attend(Site, qh, kh, vh, layout, layout, additiveMask.to(qh.dtype), scale: 1.0);
        var merged = output.transpose(1, 2).reshape(b, length, _config.InnerDim).to(x.dtype);
        return o.forward(merged).MoveToOuterDisposeScope();
    }
}
