using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.Mochi;

/// <summary>diffusers' SwiGLU: <c>proj</c> to twice the inner width, value · silu(gate).</summary>
public sealed class SwiGlu : nn.Module<Tensor, Tensor>
{
    public Linear proj;

    public SwiGlu(long inFeatures, long innerDim, Device device, ScalarType dtype, bool bias) : base("SwiGLU")
    {
        register_module("proj", proj = Layers.Linear(inFeatures, 2 * innerDim, device, dtype, bias));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var halves = proj.forward(x).chunk(2, -1);
        return (halves[0] * nn.functional.silu(halves[1])).MoveToOuterDisposeScope();
    }
}

/// <summary>diffusers' FeedForward with activation_fn "swiglu": <c>net.0.proj</c>, <c>net.1</c> dropout, <c>net.2</c> output.</summary>
public sealed class MochiFeedForward : nn.Module<Tensor, Tensor>
{
    public ModuleList<nn.Module> net;
    private SwiGlu Activation => (SwiGlu)net[0];
    private Linear Output => (Linear)net[2];

    public MochiFeedForward(long dim, long innerDim, Device device, ScalarType dtype) : base("FeedForward")
    {
        register_module("net", net = new ModuleList<nn.Module>(
            new SwiGlu(dim, innerDim, device, dtype, bias: false),
            nn.Identity(),
            Layers.Linear(innerDim, dim, device, dtype, bias: false)));
    }

    public override Tensor forward(Tensor x)
    {
        using var h = Activation.forward(x);
        return Output.forward(h);
    }
}
