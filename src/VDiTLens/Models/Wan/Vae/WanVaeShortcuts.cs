using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan.Vae;

/// <summary>
/// The parameter-free shortcuts of the Wan2.2 VAE's residual blocks: diffusers' AvgDown3D (space/time to channels,
/// then the mean over channel groups) and DupUp3D (channels repeated, then back to space/time).
/// </summary>
public static class WanVaeShortcuts
{
    /// <summary>AvgDown3D: x [B, C, T, H, W] → [B, outChannels, T/ft, H/fs, W/fs], time padded at the front to a multiple of ft.</summary>
    public static Tensor AvgDown(Tensor x, long outChannels, int ft, int fs)
    {
        using var scope = torch.NewDisposeScope();
        long factor = (long)ft * fs * fs;
        long padT = (ft - x.shape[2] % ft) % ft;
        if (padT > 0) x = nn.functional.pad(x, new long[] { 0, 0, 0, 0, padT, 0 });
        long b = x.shape[0], c = x.shape[1], t = x.shape[2], h = x.shape[3], w = x.shape[4];
        if (c * factor % outChannels != 0)
            throw new ArgumentException($"AvgDown3D: {c} channels × factor {factor} is not a multiple of {outChannels}");
        var y = x.view(b, c, t / ft, ft, h / fs, fs, w / fs, fs)
            .permute(0, 1, 3, 5, 7, 2, 4, 6).contiguous()
            .view(b, outChannels, c * factor / outChannels, t / ft, h / fs, w / fs)
            .mean(new long[] { 2 });
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>DupUp3D: x [B, C, T, H, W] → [B, outChannels, T·ft, H·fs, W·fs]; on the first chunk the first ft − 1 frames are dropped.</summary>
    public static Tensor DupUp(Tensor x, long outChannels, int ft, int fs, bool firstChunk)
    {
        using var scope = torch.NewDisposeScope();
        long factor = (long)ft * fs * fs;
        long c = x.shape[1];
        if (outChannels * factor % c != 0)
            throw new ArgumentException($"DupUp3D: {outChannels} channels × factor {factor} is not a multiple of {c}");
        long b = x.shape[0], t = x.shape[2], h = x.shape[3], w = x.shape[4];
        var y = x.repeat_interleave(outChannels * factor / c, 1)
            .view(b, outChannels, ft, fs, fs, t, h, w)
            .permute(0, 1, 5, 2, 6, 3, 7, 4).contiguous()
            .view(b, outChannels, t * ft, h * fs, w * fs);
        if (firstChunk && ft > 1) y = y.narrow(2, ft - 1, y.shape[2] - (ft - 1));
        return y.MoveToOuterDisposeScope();
    }
}
