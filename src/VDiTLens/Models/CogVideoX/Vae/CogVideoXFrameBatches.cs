namespace VDiTLens.Models.CogVideoX.Vae;

/// <summary>
/// diffusers' frame batching for AutoencoderKLCogVideoX: max(T / size, 1) batches of <c>size</c> frames, the first
/// one also taking the T mod size leftover frames (13 latent frames in batches of 2: 3, 2, 2, 2, 2, 2). GroupNorm
/// statistics are taken per batch, so the split is part of the result, not only a memory measure.
/// </summary>
public static class CogVideoXFrameBatches
{
    public static IReadOnlyList<(long Start, long Length)> Split(long frames, int size)
    {
        if (size < 1) throw new VDiTLensException($"CogVideoX VAE: the frame batch size must be at least 1, got {size}");
        long batches = Math.Max(frames / size, 1), remaining = frames % size;
        var result = new List<(long, long)>();
        for (long i = 0; i < batches; i++)
        {
            long start = size * i + (i == 0 ? 0 : remaining);
            long end = Math.Min(size * (i + 1) + remaining, frames);
            result.Add((start, end - start));
        }
        return result;
    }
}
