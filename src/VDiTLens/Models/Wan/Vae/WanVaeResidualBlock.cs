using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan.Vae;

/// <summary>A layer of the VAE that runs chunk by chunk in time with the causal cache.</summary>
public interface IWanCausalLayer
{
    Tensor Forward(Tensor x, WanCausalCache cache);
}

/// <summary>diffusers' WanResidualBlock: (RMS norm, SiLU, causal 3×3×3 conv) twice, plus a 1×1×1 shortcut when channels change.</summary>
public sealed class WanVaeResidualBlock : nn.Module, IWanCausalLayer
{
    public WanVaeRmsNorm norm1, norm2;
    public WanCausalConv3d conv1, conv2;
    public WanCausalConv3d? conv_shortcut;

    public WanVaeResidualBlock(long inDim, long outDim, Device device, ScalarType dtype) : base("WanResidualBlock")
    {
        register_module("norm1", norm1 = new WanVaeRmsNorm(inDim, images: false, device, dtype));
        register_module("conv1", conv1 = WanCausalConv3d.Cube(inDim, outDim, 3, 1, device, dtype));
        register_module("norm2", norm2 = new WanVaeRmsNorm(outDim, images: false, device, dtype));
        register_module("conv2", conv2 = WanCausalConv3d.Cube(outDim, outDim, 3, 1, device, dtype));
        if (inDim != outDim)
            register_module("conv_shortcut", conv_shortcut = WanCausalConv3d.Cube(inDim, outDim, 1, 0, device, dtype));
    }

    public Tensor Forward(Tensor x, WanCausalCache cache)
    {
        using var scope = torch.NewDisposeScope();
        var shortcut = conv_shortcut is null ? x : conv_shortcut.forward(x);
        var h = conv1.Forward(nn.functional.silu(norm1.forward(x)), cache);
        // dropout sits here in diffusers; inference only, so it is the identity
        h = conv2.Forward(nn.functional.silu(norm2.forward(h)), cache);
        return (h + shortcut).MoveToOuterDisposeScope();
    }
}
