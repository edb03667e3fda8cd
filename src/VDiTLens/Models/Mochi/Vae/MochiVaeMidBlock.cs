using VDiTLens.Attention;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.Mochi.Vae;

/// <summary>
/// diffusers' MochiMidBlock3D: resnet blocks, each followed (when attention is on) by a norm and causal temporal
/// self-attention with a residual. Names: resnets.i, norms.i, attentions.i.
/// </summary>
public sealed class MochiVaeMidBlock : nn.Module
{
    public ModuleList<MochiVaeResnetBlock> resnets;
    public ModuleList<MochiChunkedGroupNorm3D> norms;
    public ModuleList<MochiVaeAttention> attentions;

    public MochiVaeMidBlock(long channels, int layers, bool attention, AttentionSeam seam, string path, Device device, ScalarType dtype) : base("MochiMidBlock3D")
    {
        (resnets, norms, attentions) = Layers(channels, layers, attention, seam, path, device, dtype);
        register_module("resnets", resnets);
        register_module("norms", norms);
        register_module("attentions", attentions);
    }

    public Tensor Forward(Tensor x, MochiCausalCache? cache) => Run(resnets, norms, attentions, x, cache);

    internal static (ModuleList<MochiVaeResnetBlock>, ModuleList<MochiChunkedGroupNorm3D>, ModuleList<MochiVaeAttention>) Layers(
        long channels, int layers, bool attention, AttentionSeam seam, string path, Device device, ScalarType dtype)
    {
        var r = new ModuleList<MochiVaeResnetBlock>();
        var n = new ModuleList<MochiChunkedGroupNorm3D>();
        var a = new ModuleList<MochiVaeAttention>();
        for (int i = 0; i < layers; i++)
        {
            r.Add(new MochiVaeResnetBlock(channels, device, dtype));
            if (!attention) continue;
            n.Add(new MochiChunkedGroupNorm3D(channels, device, dtype));
            string name = $"{path}.attentions.{a.Count}";
            a.Add(new MochiVaeAttention(channels, new AttentionSite(name, a.Count, AttentionKind.Self, name), seam, device, dtype));
        }
        return (r, n, a);
    }

    /// <summary>The resnet / norm / attention sequence shared with the down blocks.</summary>
    internal static Tensor Run(ModuleList<MochiVaeResnetBlock> resnets, ModuleList<MochiChunkedGroupNorm3D> norms,
        ModuleList<MochiVaeAttention> attentions, Tensor x, MochiCausalCache? cache)
    {
        using var scope = torch.NewDisposeScope();
        for (int i = 0; i < resnets.Count; i++)
        {
            x = resnets[i].Forward(x, cache);
            if (attentions.Count == 0) continue;
            long b = x.shape[0], c = x.shape[1], t = x.shape[2], h = x.shape[3], w = x.shape[4];
            var sequences = norms[i].forward(x).permute(0, 3, 4, 2, 1).reshape(b * h * w, t, c);
            var attended = attentions[i].forward(sequences).view(b, h, w, t, c).permute(0, 4, 3, 1, 2);
            x = x + attended;
        }
        return x.MoveToOuterDisposeScope();
    }
}
