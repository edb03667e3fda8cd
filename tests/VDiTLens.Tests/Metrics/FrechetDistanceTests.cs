using TorchSharp;
using VDiTLens.Metrics;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Metrics;

public sealed class FrechetDistanceTests
{
    [Fact]
    public void Matches_the_closed_form_for_commuting_covariances()
    {
        // Σ₁ = Q diag(a) Qᵀ, Σ₂ = Q diag(b) Qᵀ commute, so d² = ‖μ₁ − μ₂‖² + Σᵢ (√aᵢ − √bᵢ)²
        using var g = new Generator(3);
        var q = torch.linalg.qr(torch.randn(6, 6, ScalarType.Float64, generator: g)).Q;
        double[] a = { 0.5, 1, 2, 3, 0.1, 4 }, b = { 1, 1, 0.5, 5, 0.2, 0 };
        var covA = q.matmul(torch.diag(torch.tensor(a))).matmul(q.t());
        var covB = q.matmul(torch.diag(torch.tensor(b))).matmul(q.t());
        double[] muA = { 0, 1, 2, 3, 4, 5 }, muB = { 1, 1, 2, 1, 4, 5 };
        double expected = muA.Zip(muB, (x, y) => (x - y) * (x - y)).Sum() + a.Zip(b, (x, y) => Math.Pow(Math.Sqrt(x) - Math.Sqrt(y), 2)).Sum();
        Assert.Equal(expected, FrechetDistance.FromMoments(torch.tensor(muA), covA, torch.tensor(muB), covB), 9);
        // diagonal, not a multiple of each other
        Assert.Equal(a.Zip(b, (x, y) => Math.Pow(Math.Sqrt(x) - Math.Sqrt(y), 2)).Sum(),
            FrechetDistance.FromMoments(torch.zeros(6, dtype: ScalarType.Float64), torch.diag(torch.tensor(a)), torch.zeros(6, dtype: ScalarType.Float64), torch.diag(torch.tensor(b))), 10);
    }

    [Fact]
    public void Matches_the_scalar_formula_for_a_non_commuting_pair_in_two_dimensions()
    {
        // 2×2 PSD A, B: Tr √(AB) = √(Tr AB + 2 √det(AB)) (the trace of the square root of a matrix with positive eigenvalues)
        var covA = torch.tensor(new double[] { 2, 0.5, 0.5, 1 }, 2, 2);
        var covB = torch.tensor(new double[] { 1, -0.3, -0.3, 3 }, 2, 2);
        double trAB = covA.matmul(covB).trace().item<double>(), detAB = covA.det().item<double>() * covB.det().item<double>();
        double expected = 3 + 4 - 2 * Math.Sqrt(trAB + 2 * Math.Sqrt(detAB));
        var zero = torch.zeros(2, dtype: ScalarType.Float64);
        Assert.Equal(expected, FrechetDistance.FromMoments(zero, covA, zero, covB), 10);
    }

    [Fact]
    public void Is_zero_for_the_same_set_and_uses_unbiased_moments()
    {
        using var g = new Generator(4);
        var x = torch.randn(40, 8, ScalarType.Float64, generator: g);
        Assert.InRange(FrechetDistance.Of(x, x), -1e-9, 1e-9);
        var (mean, cov) = FrechetDistance.Moments(x);
        var centred = x - x.mean(new long[] { 0 });
        Assert.True(cov.allclose(centred.t().matmul(centred) / 39, 1e-12, 1e-12));
        Assert.True(mean.allclose(x.mean(new long[] { 0 })));
        // shifting one set by a constant vector adds exactly its squared norm
        var shift = torch.full(8, 0.5, ScalarType.Float64);
        Assert.Equal(8 * 0.25, FrechetDistance.Of(x, x + shift), 8);
        Assert.Throws<VDiTLensException>(() => FrechetDistance.Of(x[..1], x));
        Assert.Throws<VDiTLensException>(() => FrechetDistance.Of(x, x[.., ..4]));
    }
}
