using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Metrics;

/// <summary>A smooth random texture defined everywhere on the plane (a sum of sinusoids), so exact sub-pixel shifts can be rendered.</summary>
internal sealed class SyntheticTexture
{
    private readonly (double Fx, double Fy, double Phase, double Amplitude, int Channel)[] _waves;

    public SyntheticTexture(int seed, int waves = 24)
    {
        var random = new Random(seed);
        _waves = Enumerable.Range(0, waves).Select(i =>
        {
            double period = 8 + 24 * random.NextDouble(), angle = 2 * Math.PI * random.NextDouble();
            return (Math.Cos(angle) / period, Math.Sin(angle) / period, 2 * Math.PI * random.NextDouble(), 0.5 + random.NextDouble(), i % 3);
        }).ToArray();
    }

    /// <summary>RGB frame [H, W, 3] in [0, 1] of the texture seen through a window whose origin sits at (ox, oy).</summary>
    public Tensor Frame(int height, int width, double ox, double oy)
    {
        var values = new double[height * width * 3];
        for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
        {
            double r = 0, g = 0, b = 0;
            foreach (var (fx, fy, phase, amplitude, channel) in _waves)
            {
                double v = amplitude * Math.Sin(2 * Math.PI * (fx * (x + ox) + fy * (y + oy)) + phase);
                r += v * (channel == 0 ? 1 : 0.3); g += v * (channel == 1 ? 1 : 0.3); b += v * (channel == 2 ? 1 : 0.3);
            }
            int i = (y * width + x) * 3;
            values[i] = r; values[i + 1] = g; values[i + 2] = b;
        }
        var t = torch.tensor(values, new long[] { height, width, 3 }, ScalarType.Float64);
        return (0.5 + 0.5 * t / (t.abs().max() + 1e-9)).clamp(0, 1);
    }

    /// <summary>A clip [F, H, W, 3] of the texture panning by (vx, vy) pixels per frame (content moves by −v in the frame).</summary>
    public Tensor Pan(int frames, int height, int width, double vx, double vy) =>
        torch.stack(Enumerable.Range(0, frames).Select(f => Frame(height, width, f * vx, f * vy)).ToArray());
}
