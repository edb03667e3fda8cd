using TorchSharp;
using static TorchSharp.torch;
using VDiTLens.Runtime.Cuda;

namespace VDiTLens.Interventions.Sparsity;

/// <summary>
/// Marks the m smallest entries of each last-dimension row (ties: lower index first), m varying per row, without
/// sorting whole rows: the m-th smallest value comes from a selection (<c>kthvalue</c> when every row has the same m,
/// otherwise <c>topk</c> of the smaller side), then entries below it are in, entries equal to it are in by index
/// order until m are taken. Exactly the set the first m positions of a stable ascending sort give.
/// </summary>
public static class RowSelection
{
    /// <summary>Bool mask, true on the <paramref name="m"/> (int64, broadcastable to rows [..., 1]) smallest entries of each row.</summary>
    public static Tensor Smallest(Tensor values, Tensor m)
    {
        using var scope = torch.NewDisposeScope();
        long n = values.shape[^1];
        m = m.expand(values.shape[..^1].Append(1L).ToArray()).clamp(0, n);
        if (RowSmallestKernel.Mask(values, m) is { } byKernel) return byKernel.MoveToOuterDisposeScope();
        return Reference(values, m).MoveToOuterDisposeScope();
    }

    /// <summary>The selection in TorchSharp ops (kthvalue or topk, then ties by index); m already expanded and clamped.</summary>
    public static Tensor Reference(Tensor values, Tensor m)
    {
        using var scope = torch.NewDisposeScope();
        long n = values.shape[^1];
        long lo = m.min().item<long>(), hi = m.max().item<long>();
        if (hi == 0) return torch.zeros_like(values, dtype: ScalarType.Bool).MoveToOuterDisposeScope();
        // threshold = the m-th smallest value of each row (rows with m = 0 take any value; they select nothing below)
        Tensor threshold;
        if (lo == hi)
            threshold = values.kthvalue(hi, -1, keepdim: true).values;
        else if (hi <= n - lo + 1)
            threshold = values.topk((int)hi, -1, largest: false, sorted: true).values.gather(-1, (m - 1).clamp_min(0));
        else
            threshold = values.topk((int)(n - lo + 1), -1, largest: true, sorted: true).values.gather(-1, (n - m).clamp_max(n - lo));
        var below = values < threshold;
        var equal = values == threshold;
        var needed = m - below.sum(-1, keepdim: true, type: ScalarType.Int64); // how many of the tied entries are taken
        var tieOrdinal = equal.to(ScalarType.Int64).cumsum(-1);              // 1, 2, … along each row's ties
        var selected = below.logical_or(equal.logical_and(tieOrdinal <= needed)).logical_and(m > 0);
        return selected.MoveToOuterDisposeScope();
    }
}
