using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan;

/// <summary>Wan's attention module (self or cross): projections, RMS-normed q/k across heads, rotary, the seam.</summary>
public sealed class WanAttention : nn.Module
{
    private readonly int _heads;
    private readonly AttentionSeam _seam;
    public AttentionSite Site { get; }
    public Linear to_q, to_k, to_v;
    public ModuleList<nn.Module> to_out;
    private Linear OutProjection => (Linear)to_out[0];
    public RmsNorm norm_q, norm_k;

    public WanAttention(long dim, int heads, double eps, AttentionSite site, AttentionSeam seam, Device device, ScalarType dtype) : base("WanAttention")
    {
        _heads = heads;
        _seam = seam;
        Site = site;
        register_module("to_q", to_q = Layers.Linear(dim, dim, device, dtype));
        register_module("to_k", to_k = Layers.Linear(dim, dim, device, dtype));
        register_module("to_v", to_v = Layers.Linear(dim, dim, device, dtype));
        register_module("to_out", to_out = new ModuleList<nn.Module>(Layers.Linear(dim, dim, device, dtype), nn.Dropout(0)));
        register_module("norm_q", norm_q = new RmsNorm(dim, eps, device, dtype));
        register_module("norm_k", norm_k = new RmsNorm(dim, eps, device, dtype));
    }

    /// <param name="context">Keys/values source for cross-attention; null for self-attention.</param>
    public Tensor Forward(Tensor x, Tensor? context, (Tensor Cos, Tensor Sin)? rotary, TokenLayout queryLayout, TokenLayout keyLayout)
    {
        using var scope = torch.NewDisposeScope();
        var source = context ?? x;
        Tensor q, k, v;
        using (var projected = to_q.forward(x)) q = WanElementwise.NormRotary(norm_q, projected, _heads, rotary);
        using (var projected = to_k.forward(source)) k = WanElementwise.NormRotary(norm_k, projected, _heads, rotary);
        v = to_v.forward(source).unflatten(2, new long[] { _heads, source.shape[^1] / _heads });
        var dtype = q.dtype;
        var output = _seam.Attend(Site, q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), queryLayout, keyLayout);
        q.Dispose();
        k.Dispose();
        v.Dispose();
        Tensor merged;
        using (output) merged = output.transpose(1, 2).flatten(2, 3).to(dtype);
        using (merged) return OutProjection.forward(merged).MoveToOuterDisposeScope();
    }
}
