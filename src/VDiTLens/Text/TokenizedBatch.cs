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

    /// <summary>Each row's token texts (<see cref="IPromptTokenizer.TokenTexts"/>), padding positions shown as <see cref="TokenText.Padding"/>.</summary>
    public string[][] TokenTexts(IPromptTokenizer tokenizer)
    {
        var ids = InputIds.data<long>().ToArray();
        var mask = AttentionMask.data<long>().ToArray();
        int rows = (int)InputIds.shape[0], length = (int)InputIds.shape[1];
        return Enumerable.Range(0, rows).Select(b =>
        {
            var texts = tokenizer.TokenTexts(new ArraySegment<long>(ids, b * length, length));
            for (int i = 0; i < length; i++)
                if (mask[b * length + i] == 0) texts[i] = TokenText.Padding;
            return texts;
        }).ToArray();
    }

    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask.Dispose();
    }
}
