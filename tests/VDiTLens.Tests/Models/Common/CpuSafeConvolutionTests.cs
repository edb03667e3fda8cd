using VDiTLens.Models.Common;
using VDiTLens.Tests.TestSupport;
using Xunit;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Common;

public sealed class CpuSafeConvolutionTests
{
    // Sizes at which oneDNN's AVX-512 bf16 kernels went wrong on Zen 4 (the VAEs' 3×3×3 convolutions over many channels).
    [Theory]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float16)]
    public void Half_precision_3d_convolution_on_the_cpu_matches_float64_up_to_rounding(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var generator = new TorchSharp.torch.Generator(7);
        var x = randn(new long[] { 1, 32, 5, 12, 10 }, generator: generator, dtype: ScalarType.Float64);
        var w = randn(new long[] { 48, 32, 3, 3, 3 }, generator: generator, dtype: ScalarType.Float64) * 0.05;
        var b = randn(new long[] { 48 }, generator: generator, dtype: ScalarType.Float64);
        var (xh, wh, bh) = (x.to(dtype), w.to(dtype), b.to(dtype));
        var expected = nn.functional.conv3d(xh.to(ScalarType.Float64), wh.to(ScalarType.Float64), bh.to(ScalarType.Float64), padding: new[] { 1L, 1L, 1L });

        var actual = CpuSafeConvolution.Conv3d(xh, wh, bh, padding: new[] { 1L, 1L, 1L });

        Assert.Equal(dtype, actual.dtype);
        Fixtures.AssertClose(actual.to(ScalarType.Float64), expected, 1e-2, $"conv3d {dtype}");
    }

    [Fact]
    public void Half_precision_2d_convolution_on_the_cpu_keeps_stride_and_matches_float64()
    {
        using var scope = NewDisposeScope();
        var generator = new TorchSharp.torch.Generator(8);
        var conv = nn.Conv2d(24, 40, 3, stride: 2, dtype: ScalarType.BFloat16);
        var x = randn(new long[] { 3, 24, 17, 16 }, generator: generator).to(ScalarType.BFloat16);
        var expected = nn.functional.conv2d(x.to(ScalarType.Float64), conv.weight!.to(ScalarType.Float64), conv.bias!.to(ScalarType.Float64), strides: new[] { 2L, 2L });

        var actual = CpuSafeConvolution.Conv2d(conv, x, stride: new[] { 2L, 2L });

        Assert.Equal(expected.shape, actual.shape);
        Fixtures.AssertClose(actual.to(ScalarType.Float64), expected, 1e-2, "conv2d bf16");
    }

    // 24 input channels: oneDNN's AVX-512 float32 kernels returned NaN or 20 % relative L2 error here on Zen 4.
    [Fact]
    public void Float32_convolution_with_channel_counts_onednn_got_wrong_matches_float64()
    {
        using var scope = NewDisposeScope();
        var generator = new TorchSharp.torch.Generator(10);
        var x = randn(new long[] { 3, 24, 1, 17, 16 }, generator: generator, dtype: ScalarType.Float64);
        var w = randn(new long[] { 24, 24, 1, 3, 3 }, generator: generator, dtype: ScalarType.Float64) * 0.1;
        var stride = new[] { 1L, 2L, 2L };
        var expected = nn.functional.conv3d(x, w, null, strides: stride);

        var actual = CpuSafeConvolution.Conv3d(x.to(ScalarType.Float32), w.to(ScalarType.Float32), null, stride);

        Fixtures.AssertClose(actual.to(ScalarType.Float64), expected, 1e-5, "conv3d float32, 24 channels");
    }
}
