using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan.Vae;

/// <summary>
/// The causal feature cache of one encode or decode pass (diffusers' feat_cache / feat_idx): the last frames each
/// causal layer saw in the previous time chunk, one slot per layer in call order. The cache owns its tensors
/// (they live across the per-chunk dispose scopes) and frees each one when it is replaced.
/// </summary>
public sealed class WanCausalCache : IDisposable
{
    /// <summary>Frames a 3×3×3 causal convolution needs from the past.</summary>
    public const int CachedFrames = 2;

    private readonly List<Slot> _slots = new();
    private int _cursor;

    private int _chunks;

    /// <summary>Call before each time chunk: layers take their slots again from the first.</summary>
    public void StartChunk()
    {
        _cursor = 0;
        _chunks++;
    }

    /// <summary>Whether the current chunk is the pass's first (diffusers' <c>first_chunk</c>, which the Wan2.2 decoder's shortcuts read).</summary>
    public bool FirstChunk => _chunks == 1;

    public Slot Next()
    {
        if (_cursor == _slots.Count) _slots.Add(new Slot());
        return _slots[_cursor++];
    }

    public void Dispose()
    {
        foreach (var slot in _slots) slot.Clear();
        _slots.Clear();
        _chunks = 0;
    }

    public sealed class Slot
    {
        /// <summary>The cached frames [B, C, T, H, W]; null before the layer has run (or, for a time upsampler, after its first chunk).</summary>
        public Tensor? Frames { get; private set; }

        /// <summary>Whether the layer has run at least once (diffusers marks a time upsampler's first chunk "Rep").</summary>
        public bool Visited { get; private set; }

        public void MarkVisited() => Visited = true;

        /// <summary>Stores a private copy of <paramref name="frames"/>, freeing the previous content.</summary>
        public void Replace(Tensor frames)
        {
            var copy = frames.clone().DetachFromDisposeScope();
            Frames?.Dispose();
            Frames = copy;
            Visited = true;
        }

        /// <summary>
        /// The last <see cref="CachedFrames"/> frames of x, topped up from the previous cache's last frame when the
        /// chunk is shorter (diffusers: "cache last frame of last two chunk"); <paramref name="padWithZeros"/> tops
        /// up with a zero frame instead.
        /// </summary>
        public Tensor Tail(Tensor x, bool padWithZeros = false)
        {
            long t = x.shape[2];
            var tail = t > CachedFrames ? x.narrow(2, t - CachedFrames, CachedFrames) : x;
            if (tail.shape[2] >= CachedFrames) return tail;
            if (padWithZeros) return torch.cat(new[] { torch.zeros_like(tail), tail }, 2);
            if (Frames is null) return tail;
            return torch.cat(new[] { Frames.narrow(2, Frames.shape[2] - 1, 1).to(x.device), tail }, 2);
        }

        public void Clear()
        {
            Frames?.Dispose();
            Frames = null;
            Visited = false;
        }
    }
}
