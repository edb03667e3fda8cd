using static TorchSharp.torch;

namespace VDiTLens.Attention;

/// <summary>
/// Some query rows of one call: their positions <see cref="Rows"/> (int64) and logits [B, H, rows, Lk] (scaled, with
/// the call's own mask applied as -inf) and, computed on first use, the dense probabilities and the valid-key mask.
/// </summary>
public sealed class QueryBlock(Tensor rows, Tensor logits)
{
    private Tensor? _probabilities, _valid;

    /// <summary>Query positions of this block, int64 on the logits' device.</summary>
    public Tensor Rows { get; } = rows;
    public Tensor Logits { get; } = logits;

    /// <summary>Dense softmax of the logits before any sparsification; fully masked rows are 0.</summary>
    public Tensor Probabilities => _probabilities ??= Logits.softmax(-1).nan_to_num(0.0);

    /// <summary>Keys the call's own mask allows (finite logits).</summary>
    public Tensor Valid => _valid ??= Logits.isfinite();
}

/// <summary>Bool keep-mask for one block of query rows, broadcastable to its logits [B, H, rows, Lk].</summary>
public delegate Tensor KeepMask(QueryBlock block);
