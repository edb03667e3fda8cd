using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Models.CogVideoX.Vae;

/// <summary>
/// diffusers' nested conv_cache of one encode or decode pass, flattened: one slot per causal convolution in call
/// order, holding the last (kernel − 1) frames of that convolution's padded input from the previous frame batch.
/// The cache owns its tensors (they outlive the per-batch dispose scopes) and frees each when it is replaced.
/// </summary>
public sealed class CogVideoXConvCache : IDisposable
{
    private readonly List<Tensor?> _slots = new();
    private int _cursor;

    /// <summary>Call before each frame batch: convolutions take their slots again from the first.</summary>
    public void StartBatch() => _cursor = 0;

    /// <summary>The next convolution's cached frames (null in the first batch) and the index to store into.</summary>
    public (Tensor? Frames, int Slot) Next()
    {
        if (_cursor == _slots.Count) _slots.Add(null);
        int slot = _cursor++;
        return (_slots[slot], slot);
    }

    /// <summary>Stores a private copy of <paramref name="frames"/> in <paramref name="slot"/>, freeing the old one.</summary>
    public void Store(int slot, Tensor frames)
    {
        var copy = frames.clone().DetachFromDisposeScope();
        _slots[slot]?.Dispose();
        _slots[slot] = copy;
    }

    public void Dispose()
    {
        foreach (var t in _slots) t?.Dispose();
        _slots.Clear();
    }
}
