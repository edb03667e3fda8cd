using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan.Vae;

public enum WanResampleMode { Upsample2d, Upsample3d, Downsample2d, Downsample3d }

/// <summary>
/// diffusers' WanResample: spatial ×2 up (nearest, then 3×3 conv) or down (pad right/bottom, strided 3×3 conv),
/// per frame; the 3d modes also resample time with a causal (3,1,1) convolution <c>time_conv</c>.
/// <c>resample.0</c> (upsample / zero pad) has no weights; <c>resample.1</c> is the Conv2d.
/// </summary>
public sealed class WanVaeResample : nn.Module, IWanCausalLayer
{
    private readonly WanResampleMode _mode;
    public ModuleList<nn.Module> resample;
    public WanCausalConv3d? time_conv;
    private Conv2d Conv => (Conv2d)resample[1];

    public WanVaeResample(long dim, WanResampleMode mode, Device device, ScalarType dtype, long? upsampleOutDim = null) : base("WanResample")
    {
        _mode = mode;
        bool up = mode is WanResampleMode.Upsample2d or WanResampleMode.Upsample3d;
        var conv = up
            ? nn.Conv2d(dim, upsampleOutDim ?? dim / 2, 3, padding: 1, device: device, dtype: dtype)
            : nn.Conv2d(dim, dim, 3, stride: 2, device: device, dtype: dtype);
        register_module("resample", resample = new ModuleList<nn.Module>(nn.Identity(), conv));
        if (mode == WanResampleMode.Upsample3d)
            register_module("time_conv", time_conv = new WanCausalConv3d(dim, dim * 2, (3, 1, 1), device, dtype, padding: (1, 0, 0)));
        else if (mode == WanResampleMode.Downsample3d)
            register_module("time_conv", time_conv = new WanCausalConv3d(dim, dim, (3, 1, 1), device, dtype, stride: (2, 1, 1)));
    }

    public Tensor Forward(Tensor x, WanCausalCache cache)
    {
        using var scope = torch.NewDisposeScope();
        if (_mode == WanResampleMode.Upsample3d) x = DoubleFrames(x, cache.Next());
        long b = x.shape[0], c = x.shape[1], t = x.shape[2];
        var frames = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, x.shape[3], x.shape[4]);
        frames = _mode is WanResampleMode.Upsample2d or WanResampleMode.Upsample3d
            ? ConvImages(UpsampleNearest2x(frames))
            : ConvImages(nn.functional.pad(frames, new long[] { 0, 1, 0, 1 }));
        x = frames.view(b, t, frames.shape[1], frames.shape[2], frames.shape[3]).permute(0, 2, 1, 3, 4);
        if (_mode == WanResampleMode.Downsample3d) x = HalveFrames(x, cache.Next());
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The 3×3 convolution of a batch of frames. On the CPU one frame at a time: libtorch's float32 CPU conv2d was
    /// measured returning wrong values for batches of several images at some shapes (24 → 24 channels on 4×8 images:
    /// 0.5 off its float64 result, one image alone 7e-7), which the Wan2.2 decoder's frame batches hit.
    /// </summary>
    private Tensor ConvImages(Tensor frames)
    {
        if (frames.device.type != DeviceType.CPU || frames.shape[0] == 1) return Conv.forward(frames);
        using var scope = torch.NewDisposeScope();
        var outputs = Enumerable.Range(0, (int)frames.shape[0]).Select(i => Conv.forward(frames.narrow(0, i, 1))).ToArray();
        return torch.cat(outputs, 0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// diffusers' WanUpsample (nearest-exact ×2, which for a factor of 2 is plain nearest) runs in float32 and
    /// casts back, so a float64 model rounds to float32 here too; done the same way to match its references.
    /// </summary>
    private static Tensor UpsampleNearest2x(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var f = x.to(ScalarType.Float32);
        return f.repeat_interleave(2, 2).repeat_interleave(2, 3).to(x.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Time ×2: time_conv makes two channel groups that interleave into twice the frames. The very first chunk
    /// (the lone first frame of the video) is passed through without it, as diffusers does.
    /// </summary>
    private Tensor DoubleFrames(Tensor x, WanCausalCache.Slot slot)
    {
        if (!slot.Visited)
        {
            slot.MarkVisited();
            return x.alias();
        }
        using var scope = torch.NewDisposeScope();
        long b = x.shape[0], c = x.shape[1], t = x.shape[2], h = x.shape[3], w = x.shape[4];
        var tail = slot.Tail(x, padWithZeros: slot.Frames is null);
        var y = time_conv!.ForwardWithPast(x, slot.Frames);
        slot.Replace(tail);
        var pairs = y.reshape(b, 2, c, t, h, w);
        var doubled = torch.stack(new[] { pairs.select(1, 0), pairs.select(1, 1) }, 3).reshape(b, c, t * 2, h, w);
        return doubled.MoveToOuterDisposeScope();
    }

    /// <summary>Time ÷2 with a stride-2 (3,1,1) conv over [last cached frame, chunk]; the first chunk passes unchanged.</summary>
    private Tensor HalveFrames(Tensor x, WanCausalCache.Slot slot)
    {
        if (slot.Frames is null)
        {
            slot.Replace(x);
            return x.alias();
        }
        using var scope = torch.NewDisposeScope();
        var tail = x.narrow(2, x.shape[2] - 1, 1);
        var previous = slot.Frames.narrow(2, slot.Frames.shape[2] - 1, 1).to(x.device);
        var y = time_conv!.forward(torch.cat(new[] { previous, x }, 2));
        slot.Replace(tail);
        return y.MoveToOuterDisposeScope();
    }
}
