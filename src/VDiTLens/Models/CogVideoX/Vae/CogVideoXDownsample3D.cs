using VDiTLens.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.CogVideoX.Vae;

/// <summary>
/// diffusers' CogVideoXDownsample3D: with <c>compress_time</c>, frames are averaged in pairs (an odd first frame is
/// kept alone); then each frame is zero-padded right and bottom and goes through a stride-2 3×3 Conv2d. Works on
/// one frame batch at a time with no cache, as in diffusers.
/// </summary>
public sealed class CogVideoXDownsample3D : nn.Module
{
    private readonly bool _compressTime;
    public Conv2d conv;

    public CogVideoXDownsample3D(long channels, bool compressTime, Device device, ScalarType dtype) : base("CogVideoXDownsample3D")
    {
        _compressTime = compressTime;
        register_module("conv", conv = nn.Conv2d(channels, channels, 3, stride: 2, device: device, dtype: dtype));
    }

    public Tensor Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        if (_compressTime) x = HalveFrames(x);
        x = nn.functional.pad(x, new long[] { 0, 1, 0, 1 });
        long b = x.shape[0], c = x.shape[1], t = x.shape[2];
        var frames = CpuSafeConvolution.Conv2d(conv, stride: new[] { 2L, 2L }, x: x.permute(0, 2, 1, 3, 4).reshape(b * t, c, x.shape[3], x.shape[4]));
        return frames.view(b, t, frames.shape[1], frames.shape[2], frames.shape[3]).permute(0, 2, 1, 3, 4).MoveToOuterDisposeScope();
    }

    /// <summary>avg_pool1d(kernel 2, stride 2) over time: (a + b) / 2 per pair, the first frame alone when odd.</summary>
    private static Tensor HalveFrames(Tensor x)
    {
        long t = x.shape[2];
        bool odd = t % 2 == 1;
        var rest = odd ? x.narrow(2, 1, t - 1) : x;
        long pairs = rest.shape[2] / 2;
        var pooled = rest.reshape(rest.shape[0], rest.shape[1], pairs, 2, rest.shape[3], rest.shape[4]).sum(dim: 3) / 2.0;
        return odd ? torch.cat(new[] { x.narrow(2, 0, 1), pooled }, 2) : pooled;
    }
}
