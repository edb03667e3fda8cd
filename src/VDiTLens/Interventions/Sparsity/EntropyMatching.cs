using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Interventions.Sparsity;

/// <summary>
/// The softmax temperature that gives masked attention the entropy of the dense attention, per head. For logits z of
/// one head over its rows (batch rows × queries) and a keep-mask, H(β) is the mean over rows of the entropy (nats) of
/// softmax(β·z) over the kept keys; it falls monotonically in β (dH/dβ = −β·Var_p(z) ≤ 0). The solver finds β with
/// H_masked(β) = H_dense (the mean entropy of softmax(z) over all valid keys) by Newton steps safeguarded by bisection,
/// in float64, and returns τ = 1/β. Dropping the smallest probabilities lowers the entropy, so bottom-k gives τ &gt; 1.
/// When no τ in [<see cref="MinTau"/>, <see cref="MaxTau"/>] matches (e.g. the dense entropy exceeds ln of the kept
/// count, the most a kept set can hold), the nearest bound is returned and flagged.
/// </summary>
public static class EntropyMatching
{
    public const double MinTau = 0.01;
    public const double MaxTau = 100;
    private const int MaxIterations = 100;
    private const double Tolerance = 1e-12;

    /// <summary>One head's matching temperature; <see cref="Clamped"/> when it is a bound of the search range.</summary>
    public readonly record struct Match(double Tau, double DenseEntropy, double MaskedEntropy, bool Clamped);

    /// <summary>Mean entropy per head [H] (float64) of softmax(β_h·z) over the kept keys; logits [B, H, R, Lk] with -inf at invalid keys, keep broadcastable to them.</summary>
    public static Tensor MeanEntropy(Tensor logits, Tensor keep, Tensor beta)
    {
        using var scope = torch.NewDisposeScope();
        var z = logits.to(ScalarType.Float64);
        var rows = new Rows(z, keep.expand_as(z).logical_and(z.isfinite()));
        return rows.At(beta.to(ScalarType.Float64)).Entropy.MoveToOuterDisposeScope();
    }

    /// <summary>Per head, τ with mean masked entropy = mean dense entropy. logits [B, H, R, Lk] (-inf: invalid), keep bool broadcastable to them.</summary>
    public static Match[] Solve(Tensor logits, Tensor keep)
    {
        if (logits.dim() != 4) throw new VDiTLensException($"entropy matching needs logits [B, H, rows, keys]; got [{string.Join(", ", logits.shape)}]");
        using var scope = torch.NewDisposeScope();
        var z = logits.to(ScalarType.Float64);
        var valid = z.isfinite();
        var kept = keep.expand_as(z).logical_and(valid);
        if (kept.sum(-1).min().item<long>() == 0)
            throw new VDiTLensException("entropy matching: a query row keeps no key; the keep-mask must keep at least one valid key per row");
        long heads = z.shape[1];
        var target = new Rows(z, valid).At(torch.ones(heads, ScalarType.Float64)).Entropy;
        var masked = new Rows(z, kept);
        var lo = torch.full(heads, 1 / MaxTau, ScalarType.Float64);
        var hi = torch.full(heads, 1 / MinTau, ScalarType.Float64);
        // H falls in β: still below the target at the smallest β (largest τ), or still above it at the largest β, means no match
        var belowAtMaxTau = (masked.At(lo).Entropy - target).lt(0);
        var aboveAtMinTau = (masked.At(hi).Entropy - target).gt(0);
        var unreachable = belowAtMaxTau.logical_or(aboveAtMinTau); // clamped below; they must not hold up the others' convergence
        var beta = torch.ones(heads, ScalarType.Float64).clamp(lo, hi);
        for (int i = 0; i < MaxIterations; i++)
        {
            using var step = torch.NewDisposeScope();
            var (h, slope) = masked.At(beta);
            var f = (h - target).masked_fill(unreachable, 0.0);
            if (f.abs().max().item<double>() < Tolerance) break;
            var newLo = torch.where(f > 0, beta, lo);
            var newHi = torch.where(f > 0, hi, beta);
            var newton = beta - f / slope;
            var inside = newton.gt(newLo).logical_and(newton.lt(newHi)).logical_and(newton.isfinite());
            var next = torch.where(inside, newton, (newLo * newHi).sqrt());
            bool bracketClosed = (newHi / newLo - 1).masked_fill(unreachable, 0.0).max().item<double>() < 1e-15;
            (beta, lo, hi) = (next.MoveToOuterDisposeScope(), newLo.MoveToOuterDisposeScope(), newHi.MoveToOuterDisposeScope());
            if (bracketClosed) break;
        }
        beta = torch.where(belowAtMaxTau, torch.full(heads, 1 / MaxTau, ScalarType.Float64), beta);
        beta = torch.where(aboveAtMinTau, torch.full(heads, 1 / MinTau, ScalarType.Float64), beta);
        var reached = masked.At(beta).Entropy.data<double>().ToArray();
        var b = beta.data<double>().ToArray();
        var t = target.data<double>().ToArray();
        var clamped = unreachable.data<bool>().ToArray();
        return Enumerable.Range(0, (int)heads).Select(i => new Match(1 / b[i], t[i], reached[i], clamped[i])).ToArray();
    }

    /// <summary>Rows of logits with their kept keys, shifted by each row's largest kept logit (β-independent, computed once).</summary>
    private sealed class Rows
    {
        private readonly Tensor _shifted, _dropped;

        public Rows(Tensor z, Tensor kept)
        {
            _dropped = kept.logical_not();
            var max = z.masked_fill(_dropped, double.NegativeInfinity).amax(new long[] { -1 }, keepdim: true);
            _shifted = (z - max).masked_fill(_dropped, 0.0); // 0 at dropped keys, which the softmax excludes below
        }

        /// <summary>Per head: mean over rows of H(β) and of dH/dβ = −β·Var_p(z).</summary>
        public (Tensor Entropy, Tensor Slope) At(Tensor beta)
        {
            using var scope = torch.NewDisposeScope();
            var b = beta.reshape(1, -1, 1, 1);
            var a = (b * _shifted).masked_fill(_dropped, double.NegativeInfinity);
            var logZ = a.logsumexp(-1, keepdim: true);
            var p = (a - logZ).exp();
            var mean = (p * _shifted).sum(-1, keepdim: true);
            var entropy = logZ.squeeze(-1) - b.squeeze(-1) * mean.squeeze(-1);
            var variance = (p * (_shifted - mean).square()).sum(-1);
            var perHead = new long[] { 0, 2 };
            return (entropy.mean(perHead).MoveToOuterDisposeScope(), (-beta.reshape(1, -1, 1) * variance).mean(perHead).MoveToOuterDisposeScope());
        }
    }
}
