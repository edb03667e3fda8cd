using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using VDiTLens.Runtime.Cuda;
using static TorchSharp.torch;

namespace VDiTLens.Models.CogVideoX;

/// <summary>
/// CogVideoX joint attention (diffusers' Attention + CogVideoXAttnProcessor2_0): one set of projections over the
/// sequence [text, video], per-head LayerNorm on q and k, rotary on the video part only, one seam call.
/// </summary>
public sealed class CogVideoXAttention : nn.Module
{
    private readonly int _heads;
    private readonly AttentionSeam _seam;
    public AttentionSite Site { get; }
    public Linear to_q, to_k, to_v;
    public LayerNorm norm_q, norm_k;
    public ModuleList<nn.Module> to_out;
    private Linear OutProjection => (Linear)to_out[0];

    public CogVideoXAttention(CogVideoXConfig c, AttentionSite site, AttentionSeam seam, Device device, ScalarType dtype) : base("Attention")
    {
        _heads = c.num_attention_heads;
        _seam = seam;
        Site = site;
        long dim = c.InnerDim;
        register_module("to_q", to_q = Layers.Linear(dim, dim, device, dtype, c.attention_bias));
        register_module("to_k", to_k = Layers.Linear(dim, dim, device, dtype, c.attention_bias));
        register_module("to_v", to_v = Layers.Linear(dim, dim, device, dtype, c.attention_bias));
        register_module("norm_q", norm_q = nn.LayerNorm(c.attention_head_dim, 1e-6, true, true, device: device, dtype: dtype));
        register_module("norm_k", norm_k = nn.LayerNorm(c.attention_head_dim, 1e-6, true, true, device: device, dtype: dtype));
        register_module("to_out", to_out = new ModuleList<nn.Module>(Layers.Linear(dim, dim, device, dtype), nn.Dropout(0)));
    }

    /// <returns>attention output of the video tokens [B, N, D] and of the text tokens [B, L, D].</returns>
    public (Tensor Video, Tensor Text) Forward(Tensor video, Tensor text, (Tensor Cos, Tensor Sin)? rotary, TokenLayout layout)
    {
        using var scope = torch.NewDisposeScope();
        long b = video.shape[0], textLength = text.shape[1];
        var x = torch.cat(new[] { text, video }, 1);
        long length = x.shape[1];
        var q = NormRotate(norm_q, to_q.forward(x), textLength, rotary);
        var k = NormRotate(norm_k, to_k.forward(x), textLength, rotary);
        var v = Heads(to_v.forward(x), b, length);
        x.Dispose();
        var output = _seam.Attend(Site, q, k, v, layout, layout);
        q.Dispose();
        k.Dispose();
        v.Dispose();
        Tensor merged;
        using (output)
        using (var heads = output.transpose(1, 2).reshape(b, length, -1))
            merged = OutProjection.forward(heads);
        var textOut = merged[.., ..(int)textLength];
        var videoOut = merged[.., (int)textLength..];
        return (videoOut.MoveToOuterDisposeScope(), textOut.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Per-head LayerNorm of a projection [B, L, H·D], rotary on its video part (after the text); returns [B, H, L, D].
    /// One fused kernel on CUDA in 16-bit types.
    /// </summary>
    private Tensor NormRotate(LayerNorm norm, Tensor projected, long textLength, (Tensor Cos, Tensor Sin)? rotary)
    {
        using (projected)
        {
            long b = projected.shape[0], length = projected.shape[1], headDim = projected.shape[2] / _heads;
            var normed = FusedOrReference.HeadNormRotary(projected, headDim, HeadNorm.Layer, norm.weight, norm.bias, 1e-6,
                RotaryTable.PerElement, rotary, textLength, length - textLength, () =>
                {
                    var y = norm.forward(Heads(projected, b, length));
                    if (rotary is { } r) y = RotateVideo(y, textLength, r);
                    return y.transpose(1, 2).reshape(b, length, -1);
                });
            return Heads(normed, b, length);
        }
    }

    private Tensor Heads(Tensor x, long batch, long length) =>
        x.view(batch, length, _heads, x.shape[2] / _heads).transpose(1, 2);

    private static Tensor RotateVideo(Tensor x, long textLength, (Tensor Cos, Tensor Sin) r)
    {
        var textPart = x[.., .., ..(int)textLength];
        var videoPart = CogVideoXRotaryEmbedding.Apply(x[.., .., (int)textLength..], r.Cos, r.Sin);
        return torch.cat(new[] { textPart, videoPart }, 2);
    }
}
