using VDiTLens.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.CogVideoX.Vae;

/// <summary>
/// diffusers' CogVideoXCausalConv3d (pad_mode "constant"): a cubic Conv3d, zero-padded in space, fed (kernel − 1)
/// past frames: the previous batch's cached frames, or in the first batch copies of the first frame.
/// CogVideoXSafeConv3d's splitting of inputs over 2 GiB along time is a memory measure with the same result; it is
/// not reproduced.
/// </summary>
public sealed class CogVideoXCausalConv3d : nn.Module
{
    private readonly long _timeKernel;
    private readonly long[] _padding;
    public Conv3d conv;

    public CogVideoXCausalConv3d(long inChannels, long outChannels, long kernel, Device device, ScalarType dtype) : base("CogVideoXCausalConv3d")
    {
        _timeKernel = kernel;
        long pad = (kernel - 1) / 2;
        _padding = new[] { 0L, pad, pad };
        register_module("conv", conv = nn.Conv3d(inChannels, outChannels, (kernel, kernel, kernel), padding: (0, pad, pad), device: device, dtype: dtype));
    }

    public Tensor Forward(Tensor x, CogVideoXConvCache cache)
    {
        // a 1-frame kernel neither pads nor reads its cache (diffusers stores one anyway, unused)
        if (_timeKernel == 1) return CpuSafeConvolution.Conv3d(conv, x, padding: _padding);
        var (past, slot) = cache.Next();
        using var scope = torch.NewDisposeScope();
        long k = _timeKernel - 1;
        var before = past?.to(x.device) ?? x.narrow(2, 0, 1).expand(-1, -1, k, -1, -1);
        var padded = torch.cat(new[] { before, x }, 2);
        cache.Store(slot, padded.narrow(2, padded.shape[2] - k, k));
        return CpuSafeConvolution.Conv3d(conv, padded, padding: _padding).MoveToOuterDisposeScope();
    }
}
