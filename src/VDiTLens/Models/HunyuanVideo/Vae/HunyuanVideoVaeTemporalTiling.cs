using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Models.HunyuanVideo.Vae;

/// <summary>
/// diffusers' framewise (temporal) tiling of AutoencoderKLHunyuanVideo, on by default: clips longer than
/// tile_sample_min_num_frames (16 video / 4 latent frames) run in overlapping tiles of 16+1 video / 4+1 latent
/// frames every 12 / 3 frames; each tile after the first drops its first frame and fades in linearly over the
/// previous tile's last frames (4 video / 1 latent).
/// </summary>
public static class HunyuanVideoVaeTemporalTiling
{
    public const int SampleMinFrames = 16;
    public const int SampleStrideFrames = 12;

    /// <param name="decodeTile">post_quant_conv + decoder on latents [B, C, t, H, W]</param>
    public static Tensor Decode(Tensor z, int temporalScale, Func<Tensor, Tensor> decodeTile)
    {
        long frames = z.shape[2];
        long sampleFrames = (frames - 1) * temporalScale + 1;
        int latentMin = SampleMinFrames / temporalScale, latentStride = SampleStrideFrames / temporalScale;
        var tiles = new List<Tensor>();
        for (long i = 0; i < frames; i += latentStride)
            tiles.Add(decodeTile(z.narrow(2, i, Math.Min(latentMin + 1, frames - i))));
        return Stitch(tiles, SampleStrideFrames, SampleMinFrames - SampleStrideFrames, sampleFrames);
    }

    /// <param name="encodeTile">encoder + quant_conv on video [B, C, t, H, W]</param>
    public static Tensor Encode(Tensor video, int temporalScale, Func<Tensor, Tensor> encodeTile)
    {
        long frames = video.shape[2];
        long latentFrames = (frames - 1) / temporalScale + 1;
        int latentMin = SampleMinFrames / temporalScale, latentStride = SampleStrideFrames / temporalScale;
        var tiles = new List<Tensor>();
        for (long i = 0; i < frames; i += SampleStrideFrames)
            tiles.Add(encodeTile(video.narrow(2, i, Math.Min(SampleMinFrames + 1, frames - i))));
        return Stitch(tiles, latentStride, latentMin - latentStride, latentFrames);
    }

    /// <summary>Drops every later tile's first frame, blends each into its (already blended) predecessor, keeps stride frames of each (stride + 1 of the first).</summary>
    private static Tensor Stitch(List<Tensor> tiles, long stride, long blend, long total)
    {
        try
        {
            for (int i = 1; i < tiles.Count; i++)
            {
                var rest = tiles[i].narrow(2, 1, tiles[i].shape[2] - 1);
                tiles[i].Dispose();
                tiles[i] = rest;
                BlendInPlace(tiles[i - 1], tiles[i], blend);
            }
            var kept = tiles.Select((t, i) => t.narrow(2, 0, Math.Min(i == 0 ? stride + 1 : stride, t.shape[2]))).ToList();
            using var all = torch.cat(kept, 2);
            foreach (var k in kept) k.Dispose();
            return all.narrow(2, 0, Math.Min(total, all.shape[2])).clone();
        }
        finally
        {
            foreach (var t in tiles) t.Dispose();
        }
    }

    /// <summary>diffusers' blend_t: b[:, :, x] = a[:, :, −e + x]·(1 − x/e) + b[:, :, x]·(x/e) for x &lt; e, e = min(frames of a, of b, extent).</summary>
    private static void BlendInPlace(Tensor a, Tensor b, long extent)
    {
        long e = Math.Min(Math.Min(a.shape[2], b.shape[2]), extent);
        for (long x = 0; x < e; x++)
        {
            double w = (double)x / e;
            using var previous = a.select(2, a.shape[2] - e + x);
            using var target = b.select(2, x);
            using var mixed = previous * (1 - w) + target * w;
            target.copy_(mixed);
        }
    }
}
