using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.CogVideoX.Vae;

/// <summary>
/// diffusers' CogVideoXSpatialNorm3D (the decoder's normalisation): GroupNorm(f) · conv_y(zq) + conv_b(zq), where
/// zq (the batch's latents) is resized by nearest interpolation to f's frames and pixels. With an odd frame count
/// above 1 the first latent frame maps to the first frame alone and the rest to the rest.
/// </summary>
public sealed class CogVideoXSpatialNorm3D : nn.Module
{
    public GroupNorm norm_layer;
    public CogVideoXCausalConv3d conv_y;
    public CogVideoXCausalConv3d conv_b;

    public CogVideoXSpatialNorm3D(long fChannels, long zqChannels, long groups, Device device, ScalarType dtype) : base("CogVideoXSpatialNorm3D")
    {
        register_module("norm_layer", norm_layer = nn.GroupNorm(groups, fChannels, eps: 1e-6, affine: true, device: device, dtype: dtype));
        register_module("conv_y", conv_y = new CogVideoXCausalConv3d(zqChannels, fChannels, 1, device, dtype));
        register_module("conv_b", conv_b = new CogVideoXCausalConv3d(zqChannels, fChannels, 1, device, dtype));
    }

    public Tensor Forward(Tensor f, Tensor zq, CogVideoXConvCache cache)
    {
        using var scope = torch.NewDisposeScope();
        long t = f.shape[2], h = f.shape[3], w = f.shape[4];
        if (t > 1 && t % 2 == 1)
        {
            var first = Resize(zq.narrow(2, 0, 1), 1, h, w);
            var rest = Resize(zq.narrow(2, 1, zq.shape[2] - 1), t - 1, h, w);
            zq = torch.cat(new[] { first, rest }, 2);
        }
        else
        {
            zq = Resize(zq, t, h, w);
        }
        var y = conv_y.Forward(zq, cache);
        var b = conv_b.Forward(zq, cache);
        return (norm_layer.forward(f) * y + b).MoveToOuterDisposeScope();
    }

    private static Tensor Resize(Tensor x, long t, long h, long w) =>
        nn.functional.interpolate(x, size: new[] { t, h, w }, mode: InterpolationMode.Nearest);
}
