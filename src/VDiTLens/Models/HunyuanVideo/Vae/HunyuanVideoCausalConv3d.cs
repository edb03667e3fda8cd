using VDiTLens.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.HunyuanVideo.Vae;

/// <summary>
/// diffusers' HunyuanVideoCausalConv3d: replicate padding k−1 frames in the past (none in the future) and k÷2 on
/// each side in height and width, then an unpadded Conv3d registered as <c>conv</c>.
/// </summary>
public sealed class HunyuanVideoCausalConv3d : nn.Module<Tensor, Tensor>
{
    private readonly long[] _padding;
    private readonly long[] _stride;
    public Conv3d conv;

    public HunyuanVideoCausalConv3d(long inChannels, long outChannels, long kernel, Device device, ScalarType dtype,
        (long T, long H, long W)? stride = null) : base("HunyuanVideoCausalConv3d")
    {
        var s = stride ?? (1, 1, 1);
        _stride = new[] { s.T, s.H, s.W };
        // F.pad order: (W left, W right, H top, H bottom, T front, T back).
        _padding = new[] { kernel / 2, kernel / 2, kernel / 2, kernel / 2, kernel - 1, 0L };
        register_module("conv", conv = nn.Conv3d(inChannels, outChannels, (kernel, kernel, kernel), stride: s, device: device, dtype: dtype));
    }

    public override Tensor forward(Tensor x)
    {
        if (_padding.All(p => p == 0)) return CpuSafeConvolution.Conv3d(conv, x, _stride);
        using var padded = nn.functional.pad(x, _padding, PaddingModes.Replicate);
        return CpuSafeConvolution.Conv3d(conv, padded, _stride);
    }
}
