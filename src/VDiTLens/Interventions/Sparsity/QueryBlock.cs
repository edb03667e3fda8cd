using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Interventions.Sparsity;

/// <summary>
/// Query rows [Start, Start + Length) of one call: their logits [B, H, rows, Lk] (scaled, with the call's own
/// mask applied as -inf) and, computed on first use, the dense probabilities and the valid-key mask.
/// </summary>
public sealed class QueryBlock(long start, long length, Tensor logits)
{
    private Tensor? _probabilities, _valid;

    public long Start { get; } = start;
    public long Length { get; } = length;
    public Tensor Logits { get; } = logits;

    /// <summary>Dense softmax of the logits before any sparsification; fully masked rows are 0.</summary>
    public Tensor Probabilities => _probabilities ??= Logits.softmax(-1).nan_to_num(0.0);

    /// <summary>Keys the call's own mask allows (finite logits).</summary>
    public Tensor Valid => _valid ??= Logits.isfinite();

    /// <summary>Query positions of this block as an int64 tensor on the logits' device.</summary>
    public Tensor Rows => torch.arange(Start, Start + Length, dtype: ScalarType.Int64, device: Logits.device);
}
