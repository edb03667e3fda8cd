using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Maps;

/// <summary>Mean pooling of a map over blocks of p × p entries; a ragged last row or column group is the mean of what it holds.</summary>
public static class MapPooling
{
    /// <summary>rows [r, c] → [⌈r/p⌉, ⌈c/p⌉]. Callers streaming a map pass row blocks whose height is a multiple of p (the last may be ragged).</summary>
    public static Tensor Pool(Tensor rows, long p)
    {
        using var scope = torch.NewDisposeScope();
        return SumGroups(SumGroups(rows, 1, p), 0, p).MoveToOuterDisposeScope();
    }

    private static Tensor SumGroups(Tensor t, long dim, long p)
    {
        long n = t.shape[dim], groups = (n + p - 1) / p, pad = groups * p - n;
        var padded = pad == 0 ? t : torch.cat(new[] { t, torch.zeros(dim == 0 ? new[] { pad, t.shape[1] } : new[] { t.shape[0], pad }, dtype: t.dtype, device: t.device) }, dim);
        var shape = dim == 0 ? new[] { groups, p, t.shape[1] } : new[] { t.shape[0], groups, p };
        var sums = padded.reshape(shape).sum(dim + 1);
        var counts = torch.full(groups, (double)p, dtype: t.dtype, device: t.device);
        if (pad > 0) counts[groups - 1] = torch.tensor((double)(p - pad), dtype: t.dtype);
        return dim == 0 ? sums / counts.unsqueeze(1) : sums / counts.unsqueeze(0);
    }
}
