using TorchSharp;
using VDiTLens.Models.Wan.Vae;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Wan;

/// <summary>The Wan2.2 VAE's parameter-free reshapes against element-by-element loops of diffusers' definitions.</summary>
public sealed class WanVaeShortcutsTests
{
    private static Tensor Arange(params long[] shape)
    {
        TorchRuntime.Initialise();
        long n = shape.Aggregate(1L, (a, b) => a * b);
        return torch.arange(n, dtype: ScalarType.Float64).view(shape);
    }

    [Theory]
    [InlineData(4, 4, 1, 2, 2)]   // spatial only (Wan2.2 level 0)
    [InlineData(4, 8, 2, 2, 4)]   // time and space, channels doubled
    [InlineData(6, 6, 2, 2, 3)]   // odd frame count: one zero frame padded in front
    [InlineData(4, 4, 1, 1, 2)]   // identity level
    public void AvgDown_is_the_mean_of_each_channel_group(long c, long outC, int ft, int fs, long t)
    {
        var x = Arange(1, c, t, 4, 4);
        var y = WanVaeShortcuts.AvgDown(x, outC, ft, fs);
        long padT = (ft - t % ft) % ft, tp = t + padT;
        var padded = torch.zeros(new long[] { 1, c, tp, 4, 4 }, dtype: ScalarType.Float64);
        padded.narrow(2, padT, t).copy_(x);
        long factor = (long)ft * fs * fs, group = c * factor / outC;
        Assert.Equal(new[] { 1, outC, tp / ft, 4 / fs, 4 / fs }, y.shape);
        var expected = torch.zeros_like(y);
        // channel (ci, dt, dh, dw) of the space-to-channel layout is ci·factor + dt·fs² + dh·fs + dw; out channel o averages group·o … group·(o+1)−1
        for (long o = 0; o < outC; o++)
            for (long ti = 0; ti < tp / ft; ti++)
                for (long hi = 0; hi < 4 / fs; hi++)
                    for (long wi = 0; wi < 4 / fs; wi++)
                    {
                        double sum = 0;
                        for (long k = o * group; k < (o + 1) * group; k++)
                        {
                            long ci = k / factor, r = k % factor, dt = r / (fs * fs), dh = r / fs % fs, dw = r % fs;
                            sum += padded[0, ci, ti * ft + dt, hi * fs + dh, wi * fs + dw].item<double>();
                        }
                        expected[0, o, ti, hi, wi] = sum / group;
                    }
        Assert.Equal(0.0, (y - expected).abs().max().item<double>(), 12);
    }

    [Theory]
    [InlineData(4, 4, 2, false)]
    [InlineData(4, 4, 2, true)]
    [InlineData(8, 4, 1, false)]
    public void DupUp_repeats_channels_into_space_and_time(long c, long outC, int ft, bool firstChunk)
    {
        const int fs = 2;
        var x = Arange(1, c, 2, 2, 3);
        var y = WanVaeShortcuts.DupUp(x, outC, ft, fs, firstChunk);
        long factor = (long)ft * fs * fs, repeats = outC * factor / c, drop = firstChunk ? ft - 1 : 0;
        Assert.Equal(new[] { 1, outC, 2 * ft - drop, 4, 6 }, y.shape);
        for (long o = 0; o < outC; o++)
            for (long tt = 0; tt < 2 * ft - drop; tt++)
                for (long hh = 0; hh < 4; hh++)
                    for (long ww = 0; ww < 6; ww++)
                    {
                        long t = tt + drop;
                        // repeated channel index o·factor + dt·fs² + dh·fs + dw comes from input channel (that index) / repeats
                        long k = o * factor + t % ft * fs * fs + hh % fs * fs + ww % fs;
                        double expected = x[0, k / repeats, t / ft, hh / fs, ww / fs].item<double>();
                        Assert.Equal(expected, y[0, o, tt, hh, ww].item<double>());
                    }
    }

    [Fact]
    public void Patchify_packs_pixel_patches_as_channels_and_unpatchify_inverts_it()
    {
        var x = Arange(2, 3, 2, 4, 6);
        var p = WanVaePatches.Patchify(x, 2);
        Assert.Equal(new long[] { 2, 12, 2, 2, 3 }, p.shape);
        for (long c = 0; c < 3; c++)
            for (long a = 0; a < 2; a++)       // column offset
                for (long b = 0; b < 2; b++)   // row offset
                    Assert.Equal(x[1, c, 1, 2 + b, 4 + a].item<double>(), p[1, c * 4 + a * 2 + b, 1, 1, 2].item<double>());
        Assert.Equal(0.0, (WanVaePatches.Unpatchify(p, 2) - x).abs().max().item<double>());
    }
}
