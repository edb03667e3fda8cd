using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Models.Mochi.Vae;

/// <summary>diffusers' MochiResnetBlock3D: (norm, SiLU, causal 3×3×3 conv) twice, plus the input.</summary>
public sealed class MochiVaeResnetBlock : nn.Module
{
    public MochiChunkedGroupNorm3D norm1;
    public MochiCausalConv3d conv1;
    public MochiChunkedGroupNorm3D norm2;
    public MochiCausalConv3d conv2;

    public MochiVaeResnetBlock(long channels, Device device, ScalarType dtype) : base("MochiResnetBlock3D")
    {
        register_module("norm1", norm1 = new MochiChunkedGroupNorm3D(channels, device, dtype));
        register_module("conv1", conv1 = MochiCausalConv3d.Cube(channels, device, dtype));
        register_module("norm2", norm2 = new MochiChunkedGroupNorm3D(channels, device, dtype));
        register_module("conv2", conv2 = MochiCausalConv3d.Cube(channels, device, dtype));
    }

    public Tensor Forward(Tensor x, MochiCausalCache? cache)
    {
        using var scope = torch.NewDisposeScope();
        var h = conv1.Forward(nn.functional.silu(norm1.forward(x)), cache);
        h = conv2.Forward(nn.functional.silu(norm2.forward(h)), cache);
        return (h + x).MoveToOuterDisposeScope();
    }
}
