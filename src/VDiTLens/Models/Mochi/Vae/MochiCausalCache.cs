using static TorchSharp.torch;

namespace VDiTLens.Models.Mochi.Vae;

/// <summary>
/// The frames each causal convolution keeps for the next batch of frames in framewise decoding (diffusers'
/// conv_cache dictionaries). Present means "framewise": the convolutions then pad in time with these frames (or the
/// first frame repeated, on the first batch) and in space with zeros, as diffusers' pad_mode "constant".
/// </summary>
public sealed class MochiCausalCache : IDisposable
{
    private readonly Dictionary<MochiCausalConv3d, Tensor> _tails = new(ReferenceEqualityComparer.Instance);

    public int Count => _tails.Count;

    public Tensor? Get(MochiCausalConv3d conv) => _tails.GetValueOrDefault(conv);

    /// <summary>Keeps <paramref name="tail"/> (detached from any dispose scope) in place of the previous one.</summary>
    public void Set(MochiCausalConv3d conv, Tensor tail)
    {
        if (_tails.Remove(conv, out var old)) old.Dispose();
        _tails[conv] = tail.DetachFromDisposeScope();
    }

    public void Dispose()
    {
        foreach (var t in _tails.Values) t.Dispose();
        _tails.Clear();
    }
}
