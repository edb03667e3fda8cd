using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.Llama;

/// <summary>down_proj(silu(gate_proj(x)) · up_proj(x)).</summary>
public sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
    public Linear gate_proj, up_proj, down_proj;

    public LlamaMlp(LlamaConfig c, Device device, ScalarType dtype) : base("LlamaMLP")
    {
        register_module("gate_proj", gate_proj = Layers.Linear(c.hidden_size, c.intermediate_size, device, dtype, c.mlp_bias));
        register_module("up_proj", up_proj = Layers.Linear(c.hidden_size, c.intermediate_size, device, dtype, c.mlp_bias));
        register_module("down_proj", down_proj = Layers.Linear(c.intermediate_size, c.hidden_size, device, dtype, c.mlp_bias));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        return down_proj.forward(nn.functional.silu(gate_proj.forward(x)) * up_proj.forward(x)).MoveToOuterDisposeScope();
    }
}
