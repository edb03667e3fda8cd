using static TorchSharp.torch;

namespace VDiTLens.Text;

/// <summary>Padded token ids and their attention mask, both int64 [batch, max_length] (1 = real token, 0 = padding).</summary>
public sealed record TokenizedBatch(Tensor InputIds, Tensor AttentionMask) : IDisposable
{
    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask.Dispose();
    }
}
