using VDiTLens.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.Mochi.Vae;

/// <summary>
/// diffusers' CogVideoXCausalConv3d as the Mochi VAE uses it (weights under <c>conv</c>): k_t − 1 frames of padding
/// in the past, none in the future, (k − 1) / 2 on each side in space. One-shot (no cache): pad_mode "replicate", the
/// edge frame and edge pixels repeated. Framewise (with a <see cref="MochiCausalCache"/>): pad_mode "constant", the
/// previous batch's last frames (the first frame repeated at the start) and zeros in space.
/// </summary>
public sealed class MochiCausalConv3d : nn.Module
{
    private readonly long _padT, _padH, _padW;
    private readonly long[] _stride;
    public Conv3d conv;

    public MochiCausalConv3d(long inChannels, long outChannels, (long T, long H, long W) kernel, (long T, long H, long W) stride,
        Device device, ScalarType dtype) : base("CogVideoXCausalConv3d")
    {
        (_padT, _padH, _padW) = (kernel.T - 1, (kernel.H - 1) / 2, (kernel.W - 1) / 2);
        _stride = new[] { stride.T, stride.H, stride.W };
        // nn.Conv3d keeps PyTorch's initialisation, so a model built without a checkpoint has diffusers' random weights.
        register_module("conv", conv = nn.Conv3d(inChannels, outChannels, kernel, stride, device: device, dtype: dtype));
    }

    public static MochiCausalConv3d Cube(long channels, Device device, ScalarType dtype) =>
        new(channels, channels, (3, 3, 3), (1, 1, 1), device, dtype);

    public Tensor Forward(Tensor x, MochiCausalCache? cache)
    {
        using var scope = torch.NewDisposeScope();
        Tensor y;
        if (cache is null)
        {
            if (_padT != 0 || _padH != 0 || _padW != 0)
                x = nn.functional.pad(x, new[] { _padW, _padW, _padH, _padH, _padT, 0L }, PaddingModes.Replicate);
            y = CpuSafeConvolution.Conv3d(conv, x, _stride);
        }
        else
        {
            if (_padT > 0)
            {
                var past = cache.Get(this) ?? x.narrow(2, 0, 1).expand(-1, -1, _padT, -1, -1);
                x = torch.cat(new[] { past, x }, 2);
                cache.Set(this, x.narrow(2, x.shape[2] - _padT, _padT).clone());
            }
            y = CpuSafeConvolution.Conv3d(conv, x, _stride, new[] { 0L, _padH, _padW });
        }
        return y.MoveToOuterDisposeScope();
    }
}
