using TorchSharp;
using VDiTLens.Models.Common;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Common;

/// <summary>
/// Each precision policy of <see cref="RmsNorm"/> rounds exactly as the reference implementation it ports, written out
/// here op for op as in PyTorch (torch.nn.RMSNorm; diffusers' RMSNorm and transformers' T5LayerNorm; diffusers'
/// MochiRMSNorm; transformers' LlamaRMSNorm, float64 kept), and all of them agree with a float64 computation.
/// </summary>
public sealed class RmsNormTests
{
    private const double Eps = 1e-6;

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static Tensor MeanSquare(Tensor x) => x.pow(2).mean(new long[] { -1 }, keepdim: true);

    private static Tensor Reference(RmsNormPrecision precision, Tensor x, Tensor w)
    {
        switch (precision)
        {
            case RmsNormPrecision.InputDtype:
                return x * torch.rsqrt(MeanSquare(x) + Eps) * w;
            case RmsNormPrecision.Float32MeanSquare:
            {
                var h = x * torch.rsqrt(MeanSquare(x.to(ScalarType.Float32)) + Eps);
                if (w.dtype is ScalarType.Float16 or ScalarType.BFloat16) h = h.to(w.dtype);
                return w * h;
            }
            case RmsNormPrecision.Float32MeanSquareCastLast:
                return (x * torch.rsqrt(MeanSquare(x.to(ScalarType.Float32)) + Eps) * w).to(x.dtype);
            default:
            {
                var h = x.to(x.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32);
                h = h * torch.rsqrt(MeanSquare(h) + Eps);
                return w * h.to(x.dtype);
            }
        }
    }

    private static (Tensor X, RmsNorm Norm) Case(RmsNormPrecision precision, ScalarType dtype)
    {
        TorchRuntime.Initialise();
        torch.manual_seed(3);
        var x = (torch.randn(2, 5, 48, dtype: ScalarType.Float64) * 3).to(dtype);
        var norm = new RmsNorm(48, Eps, torch.CPU, dtype, precision: precision);
        using (torch.no_grad()) norm.weight!.copy_(torch.rand(48, dtype: ScalarType.Float64) + 0.5);
        return (x, norm);
    }

    [Theory]
    [InlineData(RmsNormPrecision.InputDtype)]
    [InlineData(RmsNormPrecision.Float32MeanSquare)]
    [InlineData(RmsNormPrecision.Float32MeanSquareCastLast)]
    [InlineData(RmsNormPrecision.Float32NormaliseThenGain)]
    public void Each_policy_rounds_as_its_reference_in_every_dtype(RmsNormPrecision precision)
    {
        foreach (var dtype in new[] { ScalarType.BFloat16, ScalarType.Float16, ScalarType.Float32, ScalarType.Float64 })
        {
            var (x, norm) = Case(precision, dtype);
            using (norm)
            using (torch.no_grad())
            {
                using var actual = norm.forward(x);
                using var expected = Reference(precision, x, norm.weight!);
                Assert.Equal(expected.dtype, actual.dtype);
                Assert.True(Same(expected, actual), $"{precision} in {dtype}");
            }
        }
    }

    [Fact]
    public void Any_two_policies_round_differently_in_bfloat16_or_float64()
    {
        var policies = Enum.GetValues<RmsNormPrecision>();
        Tensor Output(RmsNormPrecision p, ScalarType dtype)
        {
            var (x, norm) = Case(p, dtype);
            using (norm) using (torch.no_grad()) return norm.forward(x).to(ScalarType.Float64);
        }
        var bf16 = policies.Select(p => Output(p, ScalarType.BFloat16)).ToList();
        var f64 = policies.Select(p => Output(p, ScalarType.Float64)).ToList();
        for (int i = 0; i < policies.Length; i++)
            for (int j = i + 1; j < policies.Length; j++)
                Assert.False(Same(bf16[i], bf16[j]) && Same(f64[i], f64[j]), $"{policies[i]} and {policies[j]} agree to the bit");
    }

    [Theory]
    [InlineData(RmsNormPrecision.InputDtype)]
    [InlineData(RmsNormPrecision.Float32MeanSquare)]
    [InlineData(RmsNormPrecision.Float32MeanSquareCastLast)]
    [InlineData(RmsNormPrecision.Float32NormaliseThenGain)]
    public void Every_policy_matches_a_float64_computation_in_float32(RmsNormPrecision precision)
    {
        var (x, norm) = Case(precision, ScalarType.Float32);
        using (norm)
        using (torch.no_grad())
        {
            var x64 = x.to(ScalarType.Float64);
            var expected = x64 / (MeanSquare(x64) + Eps).sqrt() * norm.weight!.to(ScalarType.Float64);
            var error = (norm.forward(x).to(ScalarType.Float64) - expected).abs().max().item<double>();
            Assert.True(error < 1e-5, $"{precision}: max error {error}");
        }
    }

    [Fact]
    public void Without_a_gain_it_only_normalises()
    {
        TorchRuntime.Initialise();
        using var norm = new RmsNorm(8, Eps, torch.CPU, ScalarType.Float64, affine: false);
        Assert.Null(norm.weight);
        var x = torch.tensor(new double[] { 3, -4, 0, 0, 0, 0, 0, 0 });
        var expected = x / Math.Sqrt(25.0 / 8 + Eps);
        Assert.True(torch.allclose(norm.forward(x), expected, rtol: 1e-15, atol: 0));
    }
}
