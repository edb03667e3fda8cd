namespace VDiTLens.Models.CogVideoX.Vae;

/// <summary>
/// Spatial tiling of the CogVideoX VAE (diffusers' enable_tiling arguments: the tile in video pixels, and the
/// fraction of it that overlaps its neighbour). Inputs taller or wider than a tile are processed as overlapping
/// tiles, each with its own frame batching and caches, blended linearly across the overlap. GroupNorm statistics
/// are then per tile, so results differ from untiled ones everywhere, most near the seams.
/// <see cref="For"/> gives diffusers' defaults: half of sample_height × sample_width, overlaps 1/6 and 1/5.
/// </summary>
public sealed record CogVideoXVaeTiling(int MinHeight, int MinWidth, double OverlapFactorHeight = 1.0 / 6, double OverlapFactorWidth = 1.0 / 5)
{
    public static CogVideoXVaeTiling For(CogVideoXVaeConfig config) => new(config.sample_height / 2, config.sample_width / 2);

    /// <summary>One axis of diffusers' tiling arithmetic, with its int() truncations.</summary>
    public sealed record Axis(int SampleTile, int LatentTile, int LatentStride, int SampleBlend, int SampleRowLimit,
        int SampleStride, int LatentBlend, int LatentRowLimit);

    public Axis Height(int spatialScale) => AxisFor("MinHeight", MinHeight, "OverlapFactorHeight", OverlapFactorHeight, spatialScale);

    public Axis Width(int spatialScale) => AxisFor("MinWidth", MinWidth, "OverlapFactorWidth", OverlapFactorWidth, spatialScale);

    public void Validate(int spatialScale)
    {
        Height(spatialScale);
        Width(spatialScale);
    }

    private static Axis AxisFor(string tileName, int sampleTile, string overlapName, double overlap, int s)
    {
        if (sampleTile <= 0 || sampleTile % s != 0)
            throw new VDiTLensException($"CogVideoX VAE tiling: {tileName} = {sampleTile} must be a positive multiple of {s} pixels");
        if (!(overlap >= 0 && overlap < 1))
            throw new VDiTLensException($"CogVideoX VAE tiling: {overlapName} = {overlap} must be in [0, 1)");
        int latentTile = sampleTile / s;
        // the same expressions as diffusers' tiled_decode / tiled_encode, in double, truncated by int()
        var axis = new Axis(sampleTile, latentTile,
            LatentStride: (int)(latentTile * (1 - overlap)), SampleBlend: (int)(sampleTile * overlap), SampleRowLimit: sampleTile - (int)(sampleTile * overlap),
            SampleStride: (int)(sampleTile * (1 - overlap)), LatentBlend: (int)(latentTile * overlap), LatentRowLimit: latentTile - (int)(latentTile * overlap));
        // diffusers crops each tile to the row limit and concatenates; unless that equals the stride the video
        // grows or shrinks (and tiles would be skipped or repeated), so such settings are refused
        if (axis.LatentStride < 1 || axis.SampleRowLimit != axis.LatentStride * s || axis.LatentRowLimit * s != axis.SampleStride)
            throw new VDiTLensException($"CogVideoX VAE tiling: {tileName} = {sampleTile} with {overlapName} = {overlap} gives a tile stride of {axis.LatentStride} latent pixels but keeps {axis.SampleRowLimit} pixels per tile (decode) and {axis.LatentRowLimit} latent pixels per {axis.SampleStride}-pixel stride (encode); choose values where these agree (e.g. an overlap of 1/k with the tile a multiple of {s}·k)");
        return axis;
    }
}
