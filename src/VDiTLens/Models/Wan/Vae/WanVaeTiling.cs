namespace VDiTLens.Models.Wan.Vae;

/// <summary>
/// Spatial tiling of the VAE (diffusers' enable_tiling arguments, in video pixels, same defaults): inputs wider or
/// taller than a tile are processed as overlapping tiles blended linearly across the overlap, which bounds memory
/// by the tile size instead of the frame size. Results differ slightly from untiled ones near the seams.
/// </summary>
public sealed record WanVaeTiling(int MinHeight = 256, int MinWidth = 256, int StrideHeight = 192, int StrideWidth = 192)
{
    public void Validate(int spatialScale)
    {
        foreach (var (name, value) in new[] { ("MinHeight", MinHeight), ("MinWidth", MinWidth), ("StrideHeight", StrideHeight), ("StrideWidth", StrideWidth) })
            if (value <= 0 || value % spatialScale != 0)
                throw new VDiTLensException($"VAE tiling: {name} = {value} must be a positive multiple of {spatialScale} pixels");
        if (StrideHeight > MinHeight || StrideWidth > MinWidth)
            throw new VDiTLensException($"VAE tiling: the stride ({StrideHeight}×{StrideWidth}) must not exceed the tile ({MinHeight}×{MinWidth}), or tiles would leave gaps");
    }
}
