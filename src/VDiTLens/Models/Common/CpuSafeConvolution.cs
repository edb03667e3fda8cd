using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Models.Common;

/// <summary>
/// The one way the models and metrics run a 2-D or 3-D convolution. On the CPU, libtorch's oneDNN backend is turned off first
/// (<see cref="OneDnn"/>: its AVX-512 kernels are wrong on some CPUs), and half-precision inputs are convolved in
/// float32 and rounded back once: ATen's own half-precision convolution is slower, and a correct half-precision
/// kernel accumulates in float32 anyway, so the numbers are the same up to that final rounding. GPUs take the plain
/// kernel.
/// </summary>
public static class CpuSafeConvolution
{
    public static Tensor Conv3d(Tensor x, Tensor weight, Tensor? bias, long[]? stride = null, long[]? padding = null) =>
        InFloat32OnCpu(x, weight, bias, (x, w, b) => nn.functional.conv3d(x, w, b, strides: stride, padding: padding));

    /// <summary>A registered Conv3d module (weights and checkpoint names stay the module's) with its stride and padding.</summary>
    public static Tensor Conv3d(Conv3d conv, Tensor x, long[]? stride = null, long[]? padding = null) =>
        Conv3d(x, conv.weight!, conv.bias, stride, padding);

    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, long[]? stride = null, long[]? padding = null) =>
        InFloat32OnCpu(x, weight, bias, (x, w, b) => nn.functional.conv2d(x, w, b, strides: stride, padding: padding));

    public static Tensor Conv2d(Conv2d conv, Tensor x, long[]? stride = null, long[]? padding = null) =>
        Conv2d(x, conv.weight!, conv.bias, stride, padding);

    private static Tensor InFloat32OnCpu(Tensor x, Tensor weight, Tensor? bias, Func<Tensor, Tensor, Tensor?, Tensor> convolve)
    {
        if (x.device_type != DeviceType.CPU) return convolve(x, weight, bias);
        OneDnn.EnsureDisabled();
        if (x.dtype is not (ScalarType.BFloat16 or ScalarType.Float16)) return convolve(x, weight, bias);
        using var scope = NewDisposeScope();
        var y = convolve(x.to(ScalarType.Float32), weight.to(ScalarType.Float32), bias?.to(ScalarType.Float32));
        return y.to(x.dtype).MoveToOuterDisposeScope();
    }
}
