using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using VDiTLens.Models.Wan;
using VDiTLens.Runtime;
using VDiTLens.Runtime.Cuda;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Wan;

public sealed class WanElementwiseTests
{
    [Theory]
    [InlineData(1536, 192, 1)]
    [InlineData(5120, 320, 2)]
    [InlineData(3072, 384, 1)]
    public void Row_kernels_take_the_released_widths(long dim, int threads, int vectorsPerThread)
    {
        Assert.Equal((threads, vectorsPerThread), FusedKernels.RowLaunch(dim));
    }

    [Theory]
    [InlineData(100)]
    [InlineData(8 * 33)]
    public void Row_kernels_refuse_widths_they_cannot_tile(long dim)
    {
        Assert.Null(FusedKernels.RowLaunch(dim));
    }

    [Fact]
    public void Cpu_bfloat16_runs_the_unfused_reference_bit_for_bit()
    {
        TorchRuntime.Initialise();
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        torch.manual_seed(3);
        var x = torch.randn(1, 24, 256).to(ScalarType.BFloat16);
        Assert.False(FusedKernels.Supports(x));
        var norm = new Fp32LayerNorm(256, 1e-6, true, torch.CPU, ScalarType.Float32);
        var scale = torch.randn(1, 1, 256) * 0.2;
        var shift = torch.randn(1, 1, 256) * 0.2;
        var expectedNorm = (norm.forward(x.to(ScalarType.Float32)) * (scale + 1) + shift).to(ScalarType.BFloat16);
        Assert.True(WanElementwise.ModulatedNorm(norm, x, scale, shift).equal(expectedNorm).all().item<bool>());

        var rms = new RmsNorm(256, 1e-6, torch.CPU, ScalarType.BFloat16);
        var rope = new WanRotaryEmbedding(128, 64, torch.CPU);
        var tables = rope.Tables(new VideoGrid(2, 3, 4));
        var expectedQ = WanRotaryEmbedding.Apply(rms.forward(x).unflatten(2, new long[] { 2, 128 }), tables.Cos, tables.Sin);
        Assert.Equal(new long[] { 1, 24, 2, 128 }, WanElementwise.NormRotary(rms, x, 2, tables).shape);
        Assert.True(WanElementwise.NormRotary(rms, x, 2, tables).equal(expectedQ).all().item<bool>());

        var y = torch.randn(1, 24, 256).to(ScalarType.BFloat16);
        var gate = torch.randn(1, 1, 256);
        var expectedResidual = (x.to(ScalarType.Float32) + y.to(ScalarType.Float32) * gate).to(ScalarType.BFloat16);
        Assert.True(WanElementwise.GatedResidual(x, y, gate, upcastY: true).equal(expectedResidual).all().item<bool>());
    }
}
