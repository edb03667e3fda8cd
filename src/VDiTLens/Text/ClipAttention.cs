using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Text;

/// <summary>
/// CLIP self-attention (transformers' CLIPAttention): q/k/v/out projections with bias, scale 1/√head_dim, and on the
/// text side a causal (plus padding) bool mask, all through the seam.
/// </summary>
public sealed class ClipAttention : nn.Module
{
    private readonly ClipTextConfig _config;
    private readonly AttentionSeam _seam;
    public AttentionSite Site { get; }
    public Linear q_proj, k_proj, v_proj, out_proj;

    public ClipAttention(ClipTextConfig config, AttentionSite site, AttentionSeam seam, Device device, ScalarType dtype) : base("CLIPAttention")
    {
        _config = config;
        _seam = seam;
        Site = site;
        long dim = config.hidden_size;
        register_module("q_proj", q_proj = Layers.Linear(dim, dim, device, dtype));
        register_module("k_proj", k_proj = Layers.Linear(dim, dim, device, dtype));
        register_module("v_proj", v_proj = Layers.Linear(dim, dim, device, dtype));
        register_module("out_proj", out_proj = Layers.Linear(dim, dim, device, dtype));
    }

    /// <param name="x">[B, L, hidden], already layer-normed.</param>
    /// <param name="mask">bool [B or 1, 1, L, L], true where a query may attend a key; null: every key.</param>
    public Tensor Forward(Tensor x, Tensor? mask, TokenLayout layout)
    {
        using var scope = torch.NewDisposeScope();
        long b = x.shape[0], length = x.shape[1];
        int heads = _config.num_attention_heads, d = _config.HeadDim;
        var q = q_proj.forward(x).view(b, length, heads, d).transpose(1, 2);
        var k = k_proj.forward(x).view(b, length, heads, d).transpose(1, 2);
        var v = v_proj.forward(x).view(b, length, heads, d).transpose(1, 2);
        var output = _seam.Attend(Site, q, k, v, layout, layout, mask, 1.0 / Math.Sqrt(d));
        return out_proj.forward(output.transpose(1, 2).reshape(b, length, _config.hidden_size)).MoveToOuterDisposeScope();
    }
}
