using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.HunyuanVideo;

/// <summary>The token refiner's plain self-attention over the text (diffusers' Attention with AttnProcessor2_0, no q/k norm).</summary>
public sealed class HunyuanVideoRefinerAttention : nn.Module
{
    private readonly int _heads;
    private readonly AttentionSeam _seam;
    public AttentionSite Site { get; }
    public Linear to_q, to_k, to_v;
    public ModuleList<nn.Module> to_out;

    public HunyuanVideoRefinerAttention(long dim, int heads, AttentionSite site, AttentionSeam seam, Device device, ScalarType dtype) : base("Attention")
    {
        _heads = heads;
        _seam = seam;
        Site = site;
        register_module("to_q", to_q = Layers.Linear(dim, dim, device, dtype));
        register_module("to_k", to_k = Layers.Linear(dim, dim, device, dtype));
        register_module("to_v", to_v = Layers.Linear(dim, dim, device, dtype));
        register_module("to_out", to_out = new ModuleList<nn.Module>(Layers.Linear(dim, dim, device, dtype), nn.Dropout(0)));
    }

    /// <param name="x">[B, L, dim]</param>
    /// <param name="mask">bool [B, 1, L, L] or null</param>
    public Tensor Forward(Tensor x, Tensor? mask, TokenLayout layout)
    {
        using var scope = torch.NewDisposeScope();
        var q = Heads(to_q.forward(x));
        var k = Heads(to_k.forward(x));
        var v = Heads(to_v.forward(x));
        var output = _seam.Attend(Site, q, k, v, layout, layout, mask);
        var merged = output.transpose(1, 2).flatten(2, 3).to(q.dtype);
        return ((Linear)to_out[0]).forward(merged).MoveToOuterDisposeScope();
    }

    /// <summary>[B, L, heads·d] → [B, heads, L, d]</summary>
    private Tensor Heads(Tensor x) => x.unflatten(2, new long[] { _heads, x.shape[2] / _heads }).transpose(1, 2);
}
