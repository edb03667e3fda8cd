using VDiTLens.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.CogVideoX.Vae;

/// <summary>
/// diffusers' CogVideoXUpsample3D: nearest ×2 in space, and with <c>compress_time</c> also in time (an odd first
/// frame, or a single frame, is not doubled), then a 3×3 Conv2d per frame. No cache across frame batches.
/// </summary>
public sealed class CogVideoXUpsample3D : nn.Module
{
    private readonly bool _compressTime;
    public Conv2d conv;

    public CogVideoXUpsample3D(long channels, bool compressTime, Device device, ScalarType dtype) : base("CogVideoXUpsample3D")
    {
        _compressTime = compressTime;
        register_module("conv", conv = nn.Conv2d(channels, channels, 3, padding: 1, device: device, dtype: dtype));
    }

    public Tensor Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        long t = x.shape[2];
        if (_compressTime && t > 1 && t % 2 == 1)
            x = torch.cat(new[] { Double(x.narrow(2, 0, 1), false), Double(x.narrow(2, 1, t - 1), true) }, 2);
        else
            x = Double(x, _compressTime && t > 1);
        long b = x.shape[0], c = x.shape[1];
        t = x.shape[2];
        var frames = CpuSafeConvolution.Conv2d(conv, padding: new[] { 1L, 1L }, x: x.permute(0, 2, 1, 3, 4).reshape(b * t, c, x.shape[3], x.shape[4]));
        return frames.view(b, t, frames.shape[1], frames.shape[2], frames.shape[3]).permute(0, 2, 1, 3, 4).MoveToOuterDisposeScope();
    }

    /// <summary>Nearest ×2 of height and width, and of time when <paramref name="time"/> (a copy: exact for any dtype).</summary>
    private static Tensor Double(Tensor x, bool time)
    {
        var y = x.repeat_interleave(2, 3).repeat_interleave(2, 4);
        return time ? y.repeat_interleave(2, 2) : y;
    }
}
