using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Metrics;

/// <summary>
/// Fréchet distance between Gaussians fitted to two feature sets, d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½), in
/// float64 (the formula of FID; the features decide what it measures). Tr (Σ₁Σ₂)^½ is computed as the sum of the
/// square roots of the eigenvalues of Σ₁^½ Σ₂ Σ₁^½, which is symmetric positive semi-definite and has the same
/// eigenvalues as Σ₁Σ₂; tiny negative eigenvalues from rounding are clamped to 0. Covariances are unbiased (n − 1).
/// With fewer samples than feature dimensions the covariances are singular: the value is defined but biased upwards,
/// so compare distances only between sets of equal size.
/// </summary>
public static class FrechetDistance
{
    /// <summary>d² between feature sets [N, D] and [M, D] (N, M ≥ 2).</summary>
    public static double Of(Tensor featuresA, Tensor featuresB)
    {
        if (featuresA.dim() != 2 || featuresB.dim() != 2 || featuresA.shape[1] != featuresB.shape[1])
            throw new VDiTLensException($"Fréchet distance needs two feature sets [N, D] with the same D; got [{string.Join(", ", featuresA.shape)}] and [{string.Join(", ", featuresB.shape)}]");
        if (featuresA.shape[0] < 2 || featuresB.shape[0] < 2)
            throw new VDiTLensException($"Fréchet distance needs at least 2 samples per set for a covariance; got {featuresA.shape[0]} and {featuresB.shape[0]}");
        using var scope = torch.NewDisposeScope();
        var (muA, covA) = Moments(featuresA);
        var (muB, covB) = Moments(featuresB);
        return FromMoments(muA, covA, muB, covB);
    }

    /// <summary>d² between N(μ₁, Σ₁) and N(μ₂, Σ₂): means [D], covariances [D, D] (symmetric positive semi-definite).</summary>
    public static double FromMoments(Tensor meanA, Tensor covarianceA, Tensor meanB, Tensor covarianceB)
    {
        using var scope = torch.NewDisposeScope();
        var (m1, c1, m2, c2) = (F64(meanA), F64(covarianceA), F64(meanB), F64(covarianceB));
        var rootA = SymmetricSqrt(c1);
        var inner = rootA.matmul(c2).matmul(rootA);
        inner = (inner + inner.t()) / 2;
        double traceRoot = torch.linalg.eigvalsh(inner).clamp_min(0).sqrt().sum().item<double>();
        double meanTerm = (m1 - m2).square().sum().item<double>();
        return meanTerm + c1.trace().item<double>() + c2.trace().item<double>() - 2 * traceRoot;
    }

    /// <summary>Mean [D] and unbiased covariance [D, D] of samples [N, D], float64.</summary>
    public static (Tensor Mean, Tensor Covariance) Moments(Tensor features)
    {
        var x = F64(features);
        var mean = x.mean(new long[] { 0 });
        var centred = x - mean;
        return (mean, centred.t().matmul(centred) / (x.shape[0] - 1));
    }

    private static Tensor SymmetricSqrt(Tensor covariance)
    {
        var (values, vectors) = torch.linalg.eigh((covariance + covariance.t()) / 2);
        return (vectors * values.clamp_min(0).sqrt().unsqueeze(0)).matmul(vectors.t());
    }

    private static Tensor F64(Tensor t) => t.detach().cpu().to(ScalarType.Float64);
}
