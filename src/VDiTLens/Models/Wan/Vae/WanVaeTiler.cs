using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan.Vae;

/// <summary>
/// diffusers' tiled_decode / tiled_encode layout for [B, C, T, H, W] tensors: tiles of the input taken every
/// stride, each processed alone, each blended in place with its already-blended upper and left neighbours
/// (blend_v, blend_h), cropped to the output stride and placed. Only two rows of tiles are alive at a time.
/// </summary>
internal static class WanVaeTiler
{
    public sealed record Plan(
        (long H, long W) InputTile, (long H, long W) InputStride,
        (long H, long W) OutputStride, (long H, long W) Blend, (long H, long W) OutputSize);

    public static Tensor Run(Tensor input, Plan plan, Func<Tensor, Tensor> process)
    {
        long inH = input.shape[3], inW = input.shape[4];
        Tensor? output = null;
        List<Tensor>? previousRow = null;
        try
        {
            long top = 0;
            for (long i = 0; i < inH; i += plan.InputStride.H)
            {
                var row = new List<Tensor>();
                for (long j = 0; j < inW; j += plan.InputStride.W)
                {
                    using var scope = torch.NewDisposeScope();
                    var region = input.narrow(3, i, Math.Min(plan.InputTile.H, inH - i)).narrow(4, j, Math.Min(plan.InputTile.W, inW - j));
                    var tile = process(region);
                    if (previousRow is not null) BlendVertical(previousRow[row.Count], tile, plan.Blend.H);
                    if (row.Count > 0) BlendHorizontal(row[^1], tile, plan.Blend.W);
                    row.Add(tile.DetachFromDisposeScope());
                }
                output ??= torch.empty(new[] { row[0].shape[0], row[0].shape[1], row[0].shape[2], plan.OutputSize.H, plan.OutputSize.W }, row[0].dtype, row[0].device);
                top += Place(output, row, top, plan);
                Dispose(previousRow);
                previousRow = row;
            }
            return output!;
        }
        finally
        {
            Dispose(previousRow);
        }
    }

    /// <summary>Copies the row's tiles, cropped to the output stride, at height <paramref name="top"/>; returns the row's height.</summary>
    private static long Place(Tensor output, List<Tensor> row, long top, Plan plan)
    {
        long height = 0, left = 0;
        foreach (var tile in row)
        {
            long h = Math.Min(Math.Min(tile.shape[3], plan.OutputStride.H), output.shape[3] - top);
            long w = Math.Min(Math.Min(tile.shape[4], plan.OutputStride.W), output.shape[4] - left);
            if (h > 0 && w > 0)
                output.narrow(3, top, h).narrow(4, left, w).copy_(tile.narrow(3, 0, h).narrow(4, 0, w));
            left += Math.Min(tile.shape[4], plan.OutputStride.W);
            height = Math.Min(tile.shape[3], plan.OutputStride.H);
        }
        return height;
    }

    /// <summary>blend_v: the first rows of <paramref name="tile"/> fade in from the last rows of <paramref name="above"/>.</summary>
    private static void BlendVertical(Tensor above, Tensor tile, long extent) => Blend(above, tile, extent, 3);

    /// <summary>blend_h: the same across columns with the left neighbour.</summary>
    private static void BlendHorizontal(Tensor left, Tensor tile, long extent) => Blend(left, tile, extent, 4);

    private static void Blend(Tensor a, Tensor b, long extent, int dim)
    {
        extent = Math.Min(Math.Min(a.shape[dim], b.shape[dim]), extent);
        if (extent <= 0) return;
        using var scope = torch.NewDisposeScope();
        var shape = new long[] { 1, 1, 1, 1, 1 };
        shape[dim] = extent;
        // weights as diffusers computes them: y / extent and 1 - y / extent in double, then in the tensor's dtype
        var ramp = torch.arange(extent, dtype: ScalarType.Float64) / extent;
        var fromB = ramp.to(b.dtype).to(b.device).view(shape);
        var fromA = (1.0 - ramp).to(b.dtype).to(b.device).view(shape);
        var head = b.narrow(dim, 0, extent);
        head.copy_(a.narrow(dim, a.shape[dim] - extent, extent) * fromA + head * fromB);
    }

    private static void Dispose(List<Tensor>? tiles)
    {
        if (tiles is null) return;
        foreach (var t in tiles) t.Dispose();
    }
}
