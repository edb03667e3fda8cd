using VDiTLens.Models.Common;
using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Metrics;

/// <summary>Settings of <see cref="HornSchunckFlow"/>: smoothness weight α (intensities in [0, 1]), Jacobi iterations and warps per level, coarsest pyramid side.</summary>
public sealed record HornSchunckOptions(double Alpha = 0.03, int Iterations = 60, int Warps = 4, int CoarsestSide = 12)
{
    public static HornSchunckOptions Default { get; } = new();
}

/// <summary>
/// Classical dense optical flow: Horn–Schunck (1981) with coarse-to-fine warping (an image pyramid of 2× steps, images
/// pre-smoothed with a Gaussian of σ = 1, several warps per level, each solving the linearised brightness constancy
/// with a quadratic smoothness term by Jacobi iterations on the total flow; where the current flow points outside the
/// second image the data term is dropped and smoothness alone sets the flow). float64 on the CPU. This is not RAFT: it
/// has no learned prior, is less accurate on large motions, occlusions and flat regions, and its magnitudes are not
/// calibrated to RAFT's, so VBench thresholds applied to it give a different (classical) measure.
/// Flow convention: flow[:, y, x] = (dx, dy) such that second(x + dx, y + dy) ≈ first(x, y).
/// </summary>
public static class HornSchunckFlow
{
    /// <summary>Flow [2, H, W] from grey image <paramref name="first"/> [H, W] to <paramref name="second"/> [H, W].</summary>
    public static Tensor Between(Tensor first, Tensor second, HornSchunckOptions? options = null)
    {
        options ??= HornSchunckOptions.Default;
        if (first.dim() != 2 || !first.shape.SequenceEqual(second.shape))
            throw new VDiTLensException($"optical flow needs two grey images [H, W] of the same size; got [{string.Join(", ", first.shape)}] and [{string.Join(", ", second.shape)}]");
        using var scope = torch.NewDisposeScope();
        var a = Smooth(first.detach().cpu().to(ScalarType.Float64).view(1, 1, first.shape[0], first.shape[1]));
        var b = Smooth(second.detach().cpu().to(ScalarType.Float64).view(1, 1, first.shape[0], first.shape[1]));
        var pyramid = new List<(Tensor A, Tensor B)> { (a, b) };
        while (Math.Min(pyramid[^1].A.shape[2], pyramid[^1].A.shape[3]) / 2 >= options.CoarsestSide)
        {
            var (pa, pb) = pyramid[^1];
            pyramid.Add((nn.functional.avg_pool2d(Smooth(pa), 2), nn.functional.avg_pool2d(Smooth(pb), 2)));
        }
        Tensor? flow = null;
        for (int level = pyramid.Count - 1; level >= 0; level--)
        {
            var (la, lb) = pyramid[level];
            long h = la.shape[2], w = la.shape[3];
            if (flow is null) flow = torch.zeros(1, 2, h, w, ScalarType.Float64);
            else
            {
                var scale = torch.tensor(new[] { (double)w / flow.shape[3], (double)h / flow.shape[2] }, ScalarType.Float64).view(1, 2, 1, 1);
                flow = nn.functional.interpolate(flow, size: new[] { h, w }, mode: InterpolationMode.Bilinear, align_corners: false) * scale;
            }
            for (int warp = 0; warp < options.Warps; warp++) flow = Refine(la, lb, flow, options);
        }
        return flow![0].MoveToOuterDisposeScope();
    }

    /// <summary>Luma 0.299 R + 0.587 G + 0.114 B of frames [N, H, W, 3], float64 [N, H, W].</summary>
    public static Tensor Luma(Tensor frames)
    {
        if (frames.dim() != 4 || frames.shape[3] != 3)
            throw new VDiTLensException($"luma needs frames [N, H, W, 3]; got [{string.Join(", ", frames.shape)}]");
        using var scope = torch.NewDisposeScope();
        var weights = torch.tensor(new[] { 0.299, 0.587, 0.114 }, ScalarType.Float64);
        return (frames.detach().cpu().to(ScalarType.Float64) * weights).sum(new long[] { 3 }).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <paramref name="image"/> [C, H, W] sampled at x + flow(x) (bilinear) and the mask [H, W] of positions whose
    /// sample lies inside the image: with the flow first → second, Warp(second, flow) ≈ first.
    /// </summary>
    public static (Tensor Warped, Tensor Inside) Warp(Tensor image, Tensor flow)
    {
        using var scope = torch.NewDisposeScope();
        long h = image.shape[1], w = image.shape[2];
        var (x, y) = Sample(flow.unsqueeze(0), h, w);
        var grid = torch.stack(new[] { x * 2 / Math.Max(w - 1, 1) - 1, y * 2 / Math.Max(h - 1, 1) - 1 }, dim: 3);
        var warped = nn.functional.grid_sample(image.to(ScalarType.Float64).unsqueeze(0), grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Border, align_corners: true)[0];
        var inside = (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1);
        return (warped.MoveToOuterDisposeScope(), inside[0].MoveToOuterDisposeScope());
    }

    /// <summary>Sample positions x + dx, y + dy [N, H, W] of a flow [N, 2, H, W].</summary>
    private static (Tensor X, Tensor Y) Sample(Tensor flow, long h, long w)
    {
        var xs = torch.arange(w, dtype: ScalarType.Float64).view(1, 1, w);
        var ys = torch.arange(h, dtype: ScalarType.Float64).view(1, h, 1);
        return (xs + flow[.., 0], ys + flow[.., 1]);
    }

    private static Tensor Refine(Tensor a, Tensor b, Tensor flow, HornSchunckOptions options)
    {
        var (warped, inside) = Warp(b[0], flow[0]);
        var bw = warped.unsqueeze(0);
        var mean = (a + bw) / 2;
        var padded = nn.functional.pad(mean, new long[] { 1, 1, 1, 1 }, PaddingModes.Replicate);
        // no data term where the warp samples outside the second image (content entering the frame): smoothness fills in
        var seen = inside.to(ScalarType.Float64).view(1, 1, a.shape[2], a.shape[3]);
        var ix = (padded[.., .., 1..^1, 2..] - padded[.., .., 1..^1, ..^2]) / 2 * seen;
        var iy = (padded[.., .., 2.., 1..^1] - padded[.., .., ..^2, 1..^1]) / 2 * seen;
        var it = (bw - a) * seen;
        var denominator = ix * ix + iy * iy + options.Alpha * options.Alpha;
        var (u0, v0) = (flow[.., 0..1], flow[.., 1..2]);
        var (u, v) = (u0, v0);
        var kernel = torch.tensor(new[] { 1 / 12.0, 1 / 6.0, 1 / 12.0, 1 / 6.0, 0, 1 / 6.0, 1 / 12.0, 1 / 6.0, 1 / 12.0 }, ScalarType.Float64).view(1, 1, 3, 3);
        Tensor Average(Tensor t) => CpuSafeConvolution.Conv2d(nn.functional.pad(t, new long[] { 1, 1, 1, 1 }, PaddingModes.Replicate), kernel, null);
        for (int k = 0; k < options.Iterations; k++)
        {
            var (ub, vb) = (Average(u), Average(v));
            var t = (ix * (ub - u0) + iy * (vb - v0) + it) / denominator;
            (u, v) = (ub - ix * t, vb - iy * t);
        }
        return torch.cat(new[] { u, v }, 1);
    }

    private static Tensor Smooth(Tensor image)
    {
        var g = torch.tensor(Gaussian(), ScalarType.Float64);
        int r = (int)g.shape[0] / 2;
        var padded = nn.functional.pad(image, new long[] { r, r, r, r }, PaddingModes.Replicate);
        var rows = CpuSafeConvolution.Conv2d(padded, g.view(1, 1, 1, -1), null);
        return CpuSafeConvolution.Conv2d(rows, g.view(1, 1, -1, 1), null);
    }

    private static double[] Gaussian()
    {
        var g = Enumerable.Range(-2, 5).Select(i => Math.Exp(-i * i / 2.0)).ToArray();
        double sum = g.Sum();
        return g.Select(v => v / sum).ToArray();
    }
}
