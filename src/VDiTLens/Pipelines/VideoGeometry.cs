namespace VDiTLens.Pipelines;

/// <summary>
/// How pixel video maps to the transformer's latent grid: a VAE divides frames (1 + k·temporal) and height/width
/// (spatial); without a VAE (pixel-space) both scales are 1. Sizes must also fill whole transformer patches.
/// </summary>
public sealed record VideoGeometry(int Channels, int TemporalScale, int SpatialScale, int[] PatchSize, bool HasVae)
{
    /// <summary>The latent shape [B, C, F, H, W] for a request, or a VDiTLensException saying which size to change and to what.</summary>
    public long[] LatentShape(int batch, int frames, int height, int width)
    {
        int hMultiple = SpatialScale * PatchSize[1], wMultiple = SpatialScale * PatchSize[2];
        if (height <= 0 || width <= 0 || height % hMultiple != 0 || width % wMultiple != 0)
            throw new VDiTLensException(
                $"height × width = {height} × {width}: both must be positive multiples of {hMultiple} × {wMultiple} " +
                $"({(HasVae ? $"VAE scale {SpatialScale} × " : "")}patch size {PatchSize[1]} × {PatchSize[2]}); " +
                $"e.g. {Round(height, hMultiple)} × {Round(width, wMultiple)}");
        long latentFrames;
        if (HasVae)
        {
            if (frames < 1 || (frames - 1) % TemporalScale != 0)
                throw new VDiTLensException($"frames = {frames}: with this VAE the frame count must be 1 + {TemporalScale}·k (e.g. {Round(frames - 1, TemporalScale) + 1})");
            latentFrames = (frames - 1) / TemporalScale + 1;
        }
        else
        {
            latentFrames = frames;
        }
        if (frames < 1 || latentFrames % PatchSize[0] != 0)
            throw new VDiTLensException($"frames = {frames}: the latent frame count {latentFrames} must be a positive multiple of the temporal patch size {PatchSize[0]}");
        return new long[] { batch, Channels, latentFrames, height / SpatialScale, width / SpatialScale };
    }

    private static int Round(int value, int multiple) => Math.Max(multiple, (int)Math.Round(value / (double)multiple) * multiple);
}
