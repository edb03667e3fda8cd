using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.HunyuanVideo.Vae;

/// <summary>
/// diffusers' HunyuanVideoResnetBlockCausal3D: GroupNorm, SiLU, causal conv, twice, plus a residual (through a
/// 1×1×1 <c>conv_shortcut</c> when the channel count changes). Eps 1e-6 as diffusers hard-codes it.
/// </summary>
public sealed class HunyuanVideoResnetBlock : nn.Module<Tensor, Tensor>
{
    public const double Eps = 1e-6;
    public GroupNorm norm1, norm2;
    public HunyuanVideoCausalConv3d conv1, conv2;
    public HunyuanVideoCausalConv3d? conv_shortcut;

    public HunyuanVideoResnetBlock(long inChannels, long outChannels, int groups, Device device, ScalarType dtype) : base("HunyuanVideoResnetBlockCausal3D")
    {
        register_module("norm1", norm1 = nn.GroupNorm(groups, inChannels, Eps, affine: true, device: device, dtype: dtype));
        register_module("conv1", conv1 = new HunyuanVideoCausalConv3d(inChannels, outChannels, 3, device, dtype));
        register_module("norm2", norm2 = nn.GroupNorm(groups, outChannels, Eps, affine: true, device: device, dtype: dtype));
        register_module("conv2", conv2 = new HunyuanVideoCausalConv3d(outChannels, outChannels, 3, device, dtype));
        if (inChannels != outChannels)
            register_module("conv_shortcut", conv_shortcut = new HunyuanVideoCausalConv3d(inChannels, outChannels, 1, device, dtype));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var h = conv1.forward(nn.functional.silu(norm1.forward(x)));
        h = conv2.forward(nn.functional.silu(norm2.forward(h)));
        var residual = conv_shortcut is null ? x : conv_shortcut.forward(x);
        return (h + residual).MoveToOuterDisposeScope();
    }
}
