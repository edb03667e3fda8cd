using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan;

/// <summary>
/// Wan's 3D rotary embedding: the head dimension is split into time, height and width parts, each with 1D
/// rotary frequencies over its axis. Tables are computed in float64 and stored in float32, as diffusers does.
/// </summary>
public sealed class WanRotaryEmbedding
{
    private readonly Tensor _cos, _sin; // [max_seq_len, head_dim] float32
    private readonly long[] _split;

    public WanRotaryEmbedding(int headDim, int maxSeqLen, Device device, double theta = 10000.0)
    {
        int h = 2 * (headDim / 6), w = h, t = headDim - h - w;
        _split = new long[] { t, h, w };
        var cos = new List<Tensor>();
        var sin = new List<Tensor>();
        foreach (int dim in _split)
        {
            var freqs = 1.0 / torch.pow(theta, torch.arange(0, dim, 2, dtype: ScalarType.Float64) / dim);
            var angles = torch.outer(torch.arange(maxSeqLen, dtype: ScalarType.Float64), freqs);
            cos.Add(angles.cos().repeat_interleave(2, 1).to(ScalarType.Float32));
            sin.Add(angles.sin().repeat_interleave(2, 1).to(ScalarType.Float32));
        }
        _cos = torch.cat(cos, 1).to(device);
        _sin = torch.cat(sin, 1).to(device);
    }

    /// <summary>Tables for a grid of patches: cos, sin each [1, F·H·W, 1, head_dim] float32.</summary>
    public (Tensor Cos, Tensor Sin) Tables(VideoGrid grid)
    {
        return (Expand(_cos, grid), Expand(_sin, grid));
    }

    private Tensor Expand(Tensor table, VideoGrid g)
    {
        using var scope = torch.NewDisposeScope();
        var parts = table.split(_split, 1);
        var f = parts[0][..g.Frames].view(g.Frames, 1, 1, -1).expand(g.Frames, g.Height, g.Width, -1);
        var h = parts[1][..g.Height].view(1, g.Height, 1, -1).expand(g.Frames, g.Height, g.Width, -1);
        var w = parts[2][..g.Width].view(1, 1, g.Width, -1).expand(g.Frames, g.Height, g.Width, -1);
        return torch.cat(new[] { f, h, w }, -1).reshape(1, g.Count, 1, -1).MoveToOuterDisposeScope();
    }

    /// <summary>Rotates interleaved pairs of x [B, L, H, D] by the tables (diffusers' Wan apply_rotary_emb).</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = torch.NewDisposeScope();
        var pairs = x.unflatten(x.dim() - 1, new long[] { x.shape[^1] / 2, 2 });
        var x1 = pairs[TensorIndex.Ellipsis, 0];
        var x2 = pairs[TensorIndex.Ellipsis, 1];
        var c = cos[TensorIndex.Ellipsis, TensorIndex.Slice(0, null, 2)];
        var s = sin[TensorIndex.Ellipsis, TensorIndex.Slice(1, null, 2)];
        var even = x1 * c - x2 * s;
        var odd = x1 * s + x2 * c;
        return torch.stack(new[] { even, odd }, -1).flatten(-2).to(x.dtype).MoveToOuterDisposeScope();
    }
}
