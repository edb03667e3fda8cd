using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Interventions.Sparsity;

/// <summary>Rank of each entry within its last-dimension row; ties go to the lower index first (stable sort).</summary>
public static class RowRanks
{
    public static Tensor Of(Tensor values, bool descending)
    {
        var order = values.sort(-1, descending, stable: true).Indices;
        var positions = torch.arange(values.shape[^1], dtype: ScalarType.Int64, device: values.device).expand_as(order);
        return torch.empty_like(order).scatter_(-1, order, positions);
    }
}
