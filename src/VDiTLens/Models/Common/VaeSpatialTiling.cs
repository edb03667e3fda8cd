using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Models.Common;

/// <summary>
/// Spatial tiling of a video VAE decode as diffusers' HunyuanVideo and Mochi-1 VAEs do it (<c>enable_tiling</c>:
/// <c>tile_sample_min_height/width</c>, <c>tile_sample_stride_height/width</c>, in video pixels; the two
/// <c>tiled_decode</c>s differ only in how one tile is decoded). Latents taller or wider than a tile are decoded as
/// overlapping tiles (tile / 8 latent pixels every stride / 8), each blended with the tile above and the one to its
/// left over (tile − stride) pixels, linearly, then cropped to the stride and concatenated, exactly as
/// <c>tiled_decode</c>. GroupNorm statistics are then per tile, so a tiled decode differs from an untiled one.
/// <see cref="Default"/> is diffusers' 256 / 192.
/// </summary>
public sealed record VaeSpatialTiling(int MinHeight = 256, int MinWidth = 256, int StrideHeight = 192, int StrideWidth = 192)
{
    public static readonly VaeSpatialTiling Default = new();

    public void Validate(int spatialScale)
    {
        foreach (var (name, value) in new[] { ("tile_sample_min_height", MinHeight), ("tile_sample_min_width", MinWidth), ("tile_sample_stride_height", StrideHeight), ("tile_sample_stride_width", StrideWidth) })
            if (value < spatialScale)
                throw new VDiTLensException($"VAE tiling: {name} = {value} must be at least the spatial compression ratio {spatialScale}");
        if (StrideHeight > MinHeight || StrideWidth > MinWidth)
            throw new VDiTLensException($"VAE tiling: the stride ({StrideHeight} × {StrideWidth}) must not exceed the tile ({MinHeight} × {MinWidth}), or tiles would leave gaps");
    }

    /// <summary>Whether diffusers tiles latents of this size: wider or taller than one tile.</summary>
    public bool Applies(Tensor z, int spatialScale) => z.shape[4] > MinWidth / spatialScale || z.shape[3] > MinHeight / spatialScale;

    /// <summary>diffusers' <c>tiled_decode</c>: <paramref name="decodeTile"/> decodes one latent tile as the untiled decode would (HunyuanVideo: post_quant_conv + decoder; Mochi: the decoder, then the dropped first frames).</summary>
    public Tensor Decode(Tensor z, int spatialScale, Func<Tensor, Tensor> decodeTile)
    {
        Validate(spatialScale);
        using var scope = torch.NewDisposeScope();
        long height = z.shape[3], width = z.shape[4];
        int tileH = MinHeight / spatialScale, tileW = MinWidth / spatialScale;
        int strideH = StrideHeight / spatialScale, strideW = StrideWidth / spatialScale;
        var rows = new List<List<Tensor>>();
        for (long i = 0; i < height; i += strideH)
        {
            var row = new List<Tensor>();
            for (long j = 0; j < width; j += strideW)
                row.Add(decodeTile(z.narrow(3, i, Math.Min(tileH, height - i)).narrow(4, j, Math.Min(tileW, width - j))));
            rows.Add(row);
        }
        // The blends write into the tiles in place, so a tile's right and lower neighbours see it already blended.
        var resultRows = new List<Tensor>();
        for (int i = 0; i < rows.Count; i++)
        {
            var resultRow = new List<Tensor>();
            for (int j = 0; j < rows[i].Count; j++)
            {
                var tile = rows[i][j];
                if (i > 0) Blend(rows[i - 1][j], tile, MinHeight - StrideHeight, dim: 3);
                if (j > 0) Blend(rows[i][j - 1], tile, MinWidth - StrideWidth, dim: 4);
                resultRow.Add(tile.narrow(3, 0, Math.Min(StrideHeight, tile.shape[3])).narrow(4, 0, Math.Min(StrideWidth, tile.shape[4])));
            }
            resultRows.Add(torch.cat(resultRow.ToArray(), 4));
        }
        var video = torch.cat(resultRows.ToArray(), 3);
        return video.narrow(3, 0, Math.Min(video.shape[3], height * spatialScale)).narrow(4, 0, Math.Min(video.shape[4], width * spatialScale))
            .contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>diffusers' blend_v / blend_h along <paramref name="dim"/>: b[y] = a[−e + y]·(1 − y/e) + b[y]·(y/e) for y &lt; e, in place on b.</summary>
    private static void Blend(Tensor a, Tensor b, int extent, int dim)
    {
        extent = (int)Math.Min(Math.Min(a.shape[dim], b.shape[dim]), extent);
        if (extent <= 0) return;
        var shape = new long[] { 1, 1, 1, 1, 1 };
        shape[dim] = extent;
        // the weights as Python computes them (double), then in the tensor's dtype
        var up = torch.tensor(Enumerable.Range(0, extent).Select(y => (double)y / extent).ToArray()).reshape(shape).to(b.dtype, b.device);
        var down = torch.tensor(Enumerable.Range(0, extent).Select(y => 1 - (double)y / extent).ToArray()).reshape(shape).to(b.dtype, b.device);
        var head = b.narrow(dim, 0, extent);
        head.copy_(a.narrow(dim, a.shape[dim] - extent, extent) * down + head * up);
    }
}
