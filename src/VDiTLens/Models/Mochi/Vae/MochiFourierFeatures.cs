using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Models.Mochi.Vae;

/// <summary>
/// diffusers' FourierFeatures(start 6, stop 8): [x, sin(2π·2^f·x), cos(2π·2^f·x)] for f = 6, 7, channel-interleaved
/// as (c0 f6, c0 f7, c1 f6, …). Computed in float32 whatever the model dtype, as diffusers does, and returned in
/// <paramref name="dtype"/>.
/// </summary>
public static class MochiFourierFeatures
{
    private static readonly int[] Exponents = { 6, 7 };

    public static Tensor Apply(Tensor x, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var f = x.to(ScalarType.Float32);
        long channels = f.shape[1];
        // float32(2π) times an exact power of two, as torch.pow(2.0, freqs) * (2 * torch.pi) in float32
        float twoPi = (float)(2 * Math.PI);
        var weights = Enumerable.Range(0, (int)channels).SelectMany(_ => Exponents.Select(e => twoPi * (float)Math.Pow(2, e))).ToArray();
        var w = torch.tensor(weights, device: f.device).view(1, -1, 1, 1, 1);
        var h = f.repeat_interleave(Exponents.Length, 1) * w;
        return torch.cat(new[] { f, h.sin(), h.cos() }, 1).to(dtype).MoveToOuterDisposeScope();
    }
}
