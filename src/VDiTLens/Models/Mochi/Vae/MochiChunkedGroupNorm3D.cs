using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.Mochi.Vae;

/// <summary>
/// diffusers' MochiChunkedGroupNorm3D: GroupNorm (32 groups, eps 1e-5) over each frame on its own, so statistics
/// never mix frames. diffusers runs it 8 frames at a time only to save memory; the result does not depend on that.
/// </summary>
public sealed class MochiChunkedGroupNorm3D : nn.Module<Tensor, Tensor>
{
    public GroupNorm norm_layer;

    public MochiChunkedGroupNorm3D(long channels, Device device, ScalarType dtype) : base("MochiChunkedGroupNorm3D")
    {
        register_module("norm_layer", norm_layer = nn.GroupNorm(MochiVaeConfig.GroupsAndHeadDim, channels, 1e-5, affine: true, device: device, dtype: dtype));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        long b = x.shape[0], c = x.shape[1], t = x.shape[2], h = x.shape[3], w = x.shape[4];
        var frames = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w);
        var y = norm_layer.forward(frames).view(b, t, c, h, w).permute(0, 2, 1, 3, 4);
        return y.MoveToOuterDisposeScope();
    }
}
