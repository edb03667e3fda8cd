using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Text;

/// <summary>CLIP's MLP: <c>fc1</c>, the configured activation, <c>fc2</c>.</summary>
public sealed class ClipMlp : nn.Module<Tensor, Tensor>
{
    private readonly string _activation;
    public Linear fc1, fc2;

    public ClipMlp(ClipTextConfig config, Device device, ScalarType dtype) : base("CLIPMLP")
    {
        _activation = config.hidden_act;
        register_module("fc1", fc1 = Layers.Linear(config.hidden_size, config.intermediate_size, device, dtype));
        register_module("fc2", fc2 = Layers.Linear(config.intermediate_size, config.hidden_size, device, dtype));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var h = fc1.forward(x);
        h = _activation == "quick_gelu" ? h * torch.sigmoid(h * 1.702) : Activations.Apply(_activation, h);
        return fc2.forward(h).MoveToOuterDisposeScope();
    }
}

/// <summary>One encoder layer (<c>encoder.layers.{i}</c>): pre-norm self-attention and pre-norm MLP, each with a residual.</summary>
public sealed class ClipEncoderLayer : nn.Module
{
    public ClipAttention self_attn;
    public LayerNorm layer_norm1;
    public ClipMlp mlp;
    public LayerNorm layer_norm2;

    /// <param name="tower">The module path of the tower that holds the encoder (<c>text_model</c>, <c>vision_model</c>), for the site name.</param>
    public ClipEncoderLayer(ClipTextConfig config, int index, AttentionSeam seam, Device device, ScalarType dtype, string tower = "text_model") : base("CLIPEncoderLayer")
    {
        var site = new AttentionSite($"{tower}.encoder.layers.{index}.self_attn", index, AttentionKind.Self, $"attentions.{index}");
        register_module("self_attn", self_attn = new ClipAttention(config, site, seam, device, dtype));
        register_module("layer_norm1", layer_norm1 = nn.LayerNorm(config.hidden_size, config.layer_norm_eps, device: device, dtype: dtype));
        register_module("mlp", mlp = new ClipMlp(config, device, dtype));
        register_module("layer_norm2", layer_norm2 = nn.LayerNorm(config.hidden_size, config.layer_norm_eps, device: device, dtype: dtype));
    }

    /// <param name="mask">bool [B or 1, 1, L, L], true where a query may attend a key; null: every key (the vision tower).</param>
    public Tensor Forward(Tensor x, Tensor? mask, TokenLayout layout)
    {
        using var scope = torch.NewDisposeScope();
        var h = x + self_attn.Forward(layer_norm1.forward(x), mask, layout);
        h = h + mlp.forward(layer_norm2.forward(h));
        return h.MoveToOuterDisposeScope();
    }
}
