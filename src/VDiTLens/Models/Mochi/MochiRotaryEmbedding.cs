using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Models.Mochi;

/// <summary>
/// diffusers' MochiRoPE: float32 positions (frame index; patch centres spread over a fixed target area) projected
/// by the learned <c>pos_frequencies</c> [3, heads, head_dim/2], and the rotation of interleaved pairs.
/// </summary>
public static class MochiRotaryEmbedding
{
    private const double TargetArea = 192.0 * 192.0;

    /// <returns>cos, sin [F·H·W, heads, head_dim/2] float32.</returns>
    public static (Tensor Cos, Tensor Sin) Tables(Tensor posFrequencies, VideoGrid grid)
    {
        using var scope = torch.NewDisposeScope();
        var device = posFrequencies.device;
        double scale = Math.Sqrt(TargetArea / (grid.Height * grid.Width));
        var t = torch.arange(grid.Frames, dtype: ScalarType.Float32, device: device);
        var h = Centres(-grid.Height * scale / 2, grid.Height * scale / 2, grid.Height, device);
        var w = Centres(-grid.Width * scale / 2, grid.Width * scale / 2, grid.Width, device);
        var mesh = torch.meshgrid(new[] { t, h, w }, indexing: "ij");
        var positions = torch.stack(mesh, -1).view(grid.Count, 3);
        var angles = Project(positions, posFrequencies.to(ScalarType.Float32));
        return (angles.cos().MoveToOuterDisposeScope(), angles.sin().MoveToOuterDisposeScope());
    }

    /// <summary>
    /// angles[n, h, f] = Σ_d pos[n, d] · freqs[d, h, f] in float32, accumulated with one fused multiply-add per axis in
    /// the order (t, h, w): that is how torch's CPU einsum rounds here (the reference tables match bit for bit),
    /// whereas a plain float32 matmul may differ by an ulp, which cos/sin of angles up to ~20 turn into ~2e-6.
    /// </summary>
    private static Tensor Project(Tensor positions, Tensor freqs)
    {
        var f64 = ScalarType.Float64;
        var p = positions.to(f64);
        var f = freqs.to(f64);
        long n = p.shape[0];
        Tensor? acc = null;
        for (int d = 0; d < 3; d++)
        {
            var term = p[.., d].view(n, 1, 1) * f[d];
            acc = (acc is null ? term : acc.to(f64) + term).to(ScalarType.Float32);
        }
        return acc!;
    }

    private static Tensor Centres(double start, double stop, int count, Device device)
    {
        var edges = torch.linspace(start, stop, count + 1, dtype: ScalarType.Float32, device: device);
        return (edges[..count] + edges[1..]) / 2;
    }

    /// <summary>Rotates x [B, L, heads, D] by tables [L, heads, D/2] in float32, each half cast back (as diffusers).</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = torch.NewDisposeScope();
        var even = x[TensorIndex.Ellipsis, TensorIndex.Slice(0, null, 2)].to(ScalarType.Float32);
        var odd = x[TensorIndex.Ellipsis, TensorIndex.Slice(1, null, 2)].to(ScalarType.Float32);
        var first = (even * cos - odd * sin).to(x.dtype);
        var second = (even * sin + odd * cos).to(x.dtype);
        return torch.stack(new[] { first, second }, -1).flatten(-2).MoveToOuterDisposeScope();
    }
}
