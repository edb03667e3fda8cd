using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using VDiTLens.Runtime.Cuda;
using static TorchSharp.torch;

namespace VDiTLens.Models.Mochi;

/// <summary>
/// diffusers' MochiAttention + MochiAttnProcessor2_0: asymmetric dual-stream joint attention over [video, text]
/// (separate projections and RMS q/k norms per stream, rotary on video only). diffusers loops over the batch and
/// keeps only the valid text tokens; here it is one batched seam call with a boolean key mask, and the padded
/// text query rows are zeroed afterwards, which is the same computation when valid tokens form a prefix.
/// </summary>
public sealed class MochiAttention : nn.Module
{
    private readonly int _heads;
    private readonly AttentionSeam _seam;
    public AttentionSite Site { get; }
    public RmsNorm norm_q, norm_k, norm_added_q, norm_added_k;
    public Linear to_q, to_k, to_v;
    public Linear add_k_proj, add_v_proj, add_q_proj;
    public ModuleList<nn.Module> to_out;
    public Linear? to_add_out;
    private Linear OutProjection => (Linear)to_out[0];

    public bool ContextPreOnly { get; }

    public MochiAttention(MochiConfig c, int layer, bool contextPreOnly, AttentionSeam seam, Device device, ScalarType dtype) : base("MochiAttention")
    {
        _heads = c.num_attention_heads;
        _seam = seam;
        ContextPreOnly = contextPreOnly;
        Site = new AttentionSite($"transformer_blocks.{layer}.attn1", layer, AttentionKind.Joint, $"attn.{layer}.joint");
        long dim = c.InnerDim, context = c.pooled_projection_dim, headDim = c.attention_head_dim;
        const double eps = 1e-5;
        register_module("norm_q", norm_q = new RmsNorm(headDim, eps, device, dtype, precision: RmsNormPrecision.Float32MeanSquareCastLast));
        register_module("norm_k", norm_k = new RmsNorm(headDim, eps, device, dtype, precision: RmsNormPrecision.Float32MeanSquareCastLast));
        register_module("norm_added_q", norm_added_q = new RmsNorm(headDim, eps, device, dtype, precision: RmsNormPrecision.Float32MeanSquareCastLast));
        register_module("norm_added_k", norm_added_k = new RmsNorm(headDim, eps, device, dtype, precision: RmsNormPrecision.Float32MeanSquareCastLast));
        register_module("to_q", to_q = Layers.Linear(dim, dim, device, dtype, bias: false));
        register_module("to_k", to_k = Layers.Linear(dim, dim, device, dtype, bias: false));
        register_module("to_v", to_v = Layers.Linear(dim, dim, device, dtype, bias: false));
        register_module("add_k_proj", add_k_proj = Layers.Linear(context, dim, device, dtype, bias: false));
        register_module("add_v_proj", add_v_proj = Layers.Linear(context, dim, device, dtype, bias: false));
        register_module("add_q_proj", add_q_proj = Layers.Linear(context, dim, device, dtype, bias: false));
        register_module("to_out", to_out = new ModuleList<nn.Module>(Layers.Linear(dim, dim, device, dtype), nn.Dropout(0)));
        if (!contextPreOnly)
            register_module("to_add_out", to_add_out = Layers.Linear(dim, context, device, dtype));
    }

    /// <param name="video">[B, N, dim]</param>
    /// <param name="text">[B, L, pooled_projection_dim]</param>
    /// <param name="valid">bool [B, N + L]: true for video tokens and real text tokens (a prefix of the text)</param>
    /// <returns>video output [B, N, dim]; text output [B, L, pooled_projection_dim], or null for a context_pre_only block.</returns>
    /// <param name="prefixKeys">when every row has the same number of real text tokens: the key mask [B, 1, 1, N + L] as a shared prefix</param>
    public (Tensor Video, Tensor? Text) Forward(Tensor video, Tensor text, (Tensor Cos, Tensor Sin) rotary, Tensor valid, TokenLayout layout,
        PrefixKeyMask? prefixKeys = null)
    {
        using var scope = torch.NewDisposeScope();
        long b = video.shape[0], n = video.shape[1], l = text.shape[1];
        var q = NormRotate(norm_q, to_q.forward(video), rotary);
        var k = NormRotate(norm_k, to_k.forward(video), rotary);
        var v = Heads(to_v.forward(video));
        var textQ = NormRotate(norm_added_q, add_q_proj.forward(text), null);
        var textK = NormRotate(norm_added_k, add_k_proj.forward(text), null);
        var textV = Heads(add_v_proj.forward(text));

        var jq = torch.cat(new[] { q, textQ }, 1).transpose(1, 2);
        var jk = torch.cat(new[] { k, textK }, 1).transpose(1, 2);
        var jv = torch.cat(new[] { v, textV }, 1).transpose(1, 2);
        var output = _seam.Attend(Site, jq, jk, jv, layout, layout, prefixKeys?.Mask ?? valid.view(b, 1, 1, n + l), prefixKeys: prefixKeys);
        // diffusers zero-pads the rows of dropped (padded) text queries before the output projections.
        output = output * valid.view(b, 1, n + l, 1).to(output.dtype);
        var merged = output.transpose(1, 2).flatten(2, 3);

        var videoOut = OutProjection.forward(merged[.., ..(int)n]);
        Tensor? textOut = to_add_out?.forward(merged[.., (int)n..]);
        return (videoOut.MoveToOuterDisposeScope(), textOut?.MoveToOuterDisposeScope());
    }

    /// <summary>RMS norm per head of a projection [B, L, H·D], then (tables given) rotary; [B, L, H, D], fused on CUDA in 16-bit types.</summary>
    private Tensor NormRotate(RmsNorm norm, Tensor projected, (Tensor Cos, Tensor Sin)? rotary)
    {
        using (projected)
        {
            long headDim = projected.shape[2] / _heads;
            return Heads(FusedOrReference.HeadNormRotary(projected, headDim, HeadNorm.Rms, norm.weight, null, norm.Eps,
                RotaryTable.PerHeadPair, rotary, 0, projected.shape[1], () =>
                {
                    var y = norm.forward(Heads(projected));
                    if (rotary is { } r) y = MochiRotaryEmbedding.Apply(y, r.Cos, r.Sin);
                    return y.flatten(2, 3);
                }));
        }
    }

    private Tensor Heads(Tensor x) => x.view(x.shape[0], x.shape[1], _heads, x.shape[2] / _heads);
}
