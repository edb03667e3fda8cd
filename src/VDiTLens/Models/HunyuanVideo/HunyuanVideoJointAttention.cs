using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using VDiTLens.Runtime.Cuda;
using static TorchSharp.torch;

namespace VDiTLens.Models.HunyuanVideo;

/// <summary>
/// diffusers' Attention with HunyuanVideoAttnProcessor2_0: one attention over [video, text] (video first).
/// Dual-stream blocks project the text with their own <c>add_*_proj</c> and <c>to_add_out</c>; single-stream blocks
/// (pre_only) project the concatenated sequence with the shared projections and have no output projection.
/// q/k are RMS-normed per head; rotary applies to the video tokens only.
/// </summary>
public sealed class HunyuanVideoJointAttention : nn.Module
{
    private readonly int _heads;
    private readonly AttentionSeam _seam;
    public AttentionSite Site { get; }
    public bool DualStream { get; }

    public Linear to_q, to_k, to_v;
    public RmsNorm norm_q, norm_k;
    public Linear? add_q_proj, add_k_proj, add_v_proj;
    public RmsNorm? norm_added_q, norm_added_k;
    public ModuleList<nn.Module>? to_out;
    public Linear? to_add_out;

    public HunyuanVideoJointAttention(long dim, int heads, long headDim, bool dualStream, AttentionSite site, AttentionSeam seam,
        Device device, ScalarType dtype) : base("Attention")
    {
        const double eps = 1e-6;
        _heads = heads;
        _seam = seam;
        Site = site;
        DualStream = dualStream;
        register_module("to_q", to_q = Layers.Linear(dim, dim, device, dtype));
        register_module("to_k", to_k = Layers.Linear(dim, dim, device, dtype));
        register_module("to_v", to_v = Layers.Linear(dim, dim, device, dtype));
        register_module("norm_q", norm_q = new RmsNorm(headDim, eps, device, dtype, precision: RmsNormPrecision.Float32MeanSquare));
        register_module("norm_k", norm_k = new RmsNorm(headDim, eps, device, dtype, precision: RmsNormPrecision.Float32MeanSquare));
        if (!dualStream) return;
        register_module("add_q_proj", add_q_proj = Layers.Linear(dim, dim, device, dtype));
        register_module("add_k_proj", add_k_proj = Layers.Linear(dim, dim, device, dtype));
        register_module("add_v_proj", add_v_proj = Layers.Linear(dim, dim, device, dtype));
        register_module("norm_added_q", norm_added_q = new RmsNorm(headDim, eps, device, dtype, precision: RmsNormPrecision.Float32MeanSquare));
        register_module("norm_added_k", norm_added_k = new RmsNorm(headDim, eps, device, dtype, precision: RmsNormPrecision.Float32MeanSquare));
        register_module("to_out", to_out = new ModuleList<nn.Module>(Layers.Linear(dim, dim, device, dtype), nn.Dropout(0)));
        register_module("to_add_out", to_add_out = Layers.Linear(dim, dim, device, dtype));
    }

    /// <param name="video">[B, Nvid, dim]</param>
    /// <param name="text">[B, Ltext, dim]</param>
    /// <param name="rotary">tables [Nvid, head_dim] float32</param>
    /// <param name="mask">bool [B, 1, 1, Nvid + Ltext], true where a key may be attended</param>
    /// <returns>attention outputs for the video and text tokens (projected for dual-stream, raw for single-stream).</returns>
    public (Tensor Video, Tensor Text) Forward(Tensor video, Tensor text, (Tensor Cos, Tensor Sin) rotary, Tensor mask, TokenLayout layout,
        PrefixKeyMask? prefixKeys = null)
    {
        if (!DualStream)
        {
            using var joint = torch.cat(new[] { video, text }, 1);
            using var merged = ForwardJoint(joint, video.shape[1], rotary, mask, layout, prefixKeys);
            return (merged[.., ..(int)video.shape[1]].contiguous(), merged[.., (int)video.shape[1]..].contiguous());
        }
        using var scope = torch.NewDisposeScope();
        long nVideo = video.shape[1];
        var q = torch.cat(new[] { NormRotate(norm_q, to_q.forward(video), rotary, nVideo), NormRotate(norm_added_q!, add_q_proj!.forward(text), null, 0) }, 1);
        var k = torch.cat(new[] { NormRotate(norm_k, to_k.forward(video), rotary, nVideo), NormRotate(norm_added_k!, add_k_proj!.forward(text), null, 0) }, 1);
        var v = torch.cat(new[] { Heads(to_v.forward(video)), Heads(add_v_proj!.forward(text)) }, 1);
        using var attended = Attend(q, k, v, mask, layout, prefixKeys);
        var videoOut = ((Linear)to_out![0]).forward(attended[.., ..(int)nVideo]);
        var textOut = to_add_out!.forward(attended[.., (int)nVideo..]);
        return (videoOut.MoveToOuterDisposeScope(), textOut.MoveToOuterDisposeScope());
    }

    /// <summary>Single-stream attention of the joint sequence [B, Nvid + Ltext, dim] (video first); returns the raw joint output.</summary>
    public Tensor ForwardJoint(Tensor joint, long nVideo, (Tensor Cos, Tensor Sin) rotary, Tensor mask, TokenLayout layout, PrefixKeyMask? prefixKeys = null)
    {
        if (DualStream) throw new InvalidOperationException("ForwardJoint is the single-stream (pre_only) attention");
        using var scope = torch.NewDisposeScope();
        var q = NormRotate(norm_q, to_q.forward(joint), rotary, nVideo);
        var k = NormRotate(norm_k, to_k.forward(joint), rotary, nVideo);
        var v = Heads(to_v.forward(joint));
        return Attend(q, k, v, mask, layout, prefixKeys).MoveToOuterDisposeScope();
    }

    /// <summary>The seam call on [B, L, H, D] inputs (disposed here); returns the heads merged, [B, L, H·D].</summary>
    private Tensor Attend(Tensor q, Tensor k, Tensor v, Tensor mask, TokenLayout layout, PrefixKeyMask? prefixKeys)
    {
        var dtype = q.dtype;
        Tensor output;
        using (q)
        using (k)
        using (v)
            output = _seam.Attend(Site, q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), layout, layout, mask, prefixKeys: prefixKeys);
        using (output) return output.transpose(1, 2).flatten(2, 3).to(dtype);
    }

    private Tensor Heads(Tensor x) => x.unflatten(2, new long[] { _heads, x.shape[2] / _heads });

    /// <summary>
    /// RMS norm per head of a projection [B, L, H·D], then rotary on its first <paramref name="rotated"/> tokens
    /// (the video); returns [B, L, H, D]. One fused kernel on CUDA in 16-bit types.
    /// </summary>
    private Tensor NormRotate(RmsNorm norm, Tensor projected, (Tensor Cos, Tensor Sin)? rotary, long rotated)
    {
        using (projected)
        {
            long headDim = projected.shape[2] / _heads;
            return Heads(FusedOrReference.HeadNormRotary(projected, headDim, HeadNorm.Rms, norm.weight, null, norm.Eps,
                RotaryTable.PerElement, rotary, 0, rotated, () =>
                {
                    var normed = norm.forward(Heads(projected));
                    if (rotary is { } r)
                        normed = rotated == normed.shape[1] ? RotateVideo(normed, r) : RotateVideoPrefix(normed, rotated, r);
                    return normed.flatten(2, 3);
                }));
        }
    }

    private static Tensor RotateVideo(Tensor x, (Tensor Cos, Tensor Sin) r) => HunyuanVideoRotaryPosEmbed.Apply(x, r.Cos, r.Sin);

    private static Tensor RotateVideoPrefix(Tensor x, long nVideo, (Tensor Cos, Tensor Sin) r) =>
        torch.cat(new[] { RotateVideo(x[.., ..(int)nVideo], r), x[.., (int)nVideo..] }, 1);
}
