using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Interventions.Sparsity;

/// <summary>Scaled logits of some query rows against all keys, with an attention mask applied (bool: false → -inf; float: added).</summary>
internal static class MaskedLogits
{
    public static Tensor Compute(Tensor qRows, Tensor k, double scale, Tensor? mask, Tensor rows)
    {
        var logits = torch.matmul(qRows, k.transpose(-2, -1)) * scale;
        if (mask is null) return logits;
        int rowDim = (int)mask.dim() - 2;
        var m = mask.shape[rowDim] > 1 ? mask.index_select(rowDim, rows) : mask;
        return m.dtype == ScalarType.Bool ? logits.masked_fill(m.logical_not(), double.NegativeInfinity) : logits + m.to(logits.dtype);
    }

    /// <summary>The mask restricted to the given heads when it has a head dimension.</summary>
    public static Tensor? SelectHeads(Tensor? mask, Tensor heads) =>
        mask is not null && mask.dim() == 4 && mask.shape[1] > 1 ? mask.index_select(1, heads) : mask;
}
