using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Text;

/// <summary>Padded token ids and their attention mask, both int64 [batch, max_length] (1 = real token, 0 = padding).</summary>
public sealed record TokenizedBatch(Tensor InputIds, Tensor AttentionMask) : IDisposable
{
    /// <summary>
    /// Right-pads rows of ids (each already truncated to <paramref name="maxLength"/>, EOS included) with
    /// <paramref name="padId"/>; the mask is 1 on every id of a row.
    /// </summary>
    public static TokenizedBatch Pad(IReadOnlyList<int[]> rows, int maxLength, int padId)
    {
        if (maxLength < 1) throw new VDiTLensException($"max_length must be at least 1 (got {maxLength}): EOS needs a position");
        var ids = new long[rows.Count * maxLength];
        var mask = new long[rows.Count * maxLength];
        Array.Fill(ids, padId);
        for (int b = 0; b < rows.Count; b++)
            for (int i = 0; i < rows[b].Length; i++)
            {
                ids[b * maxLength + i] = rows[b][i];
                mask[b * maxLength + i] = 1;
            }
        var shape = new long[] { rows.Count, maxLength };
        return new TokenizedBatch(torch.tensor(ids, shape, ScalarType.Int64), torch.tensor(mask, shape, ScalarType.Int64));
    }

    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask.Dispose();
    }
}
