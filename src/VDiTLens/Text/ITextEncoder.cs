using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Text;

/// <summary>A prompt encoder: token ids and attention mask in, per-token hidden states out.</summary>
public interface ITextEncoder : IDisposable
{
    /// <summary>transformers' class name, e.g. <c>UMT5EncoderModel</c>.</summary>
    string ClassName { get; }

    /// <summary>The seam all of this encoder's attention calls go through.</summary>
    AttentionSeam Seam { get; }

    IReadOnlyList<AttentionSite> Sites { get; }

    /// <summary>Width of the returned hidden states.</summary>
    long HiddenSize { get; }

    Device Device { get; }

    /// <param name="inputIds">int64 [B, L]</param>
    /// <param name="attentionMask">[B, L], 1 for real tokens, 0 for padding (any integer, bool or float dtype)</param>
    /// <returns>last_hidden_state [B, L, HiddenSize] in the encoder's dtype.</returns>
    Tensor Encode(Tensor inputIds, Tensor attentionMask);
}
