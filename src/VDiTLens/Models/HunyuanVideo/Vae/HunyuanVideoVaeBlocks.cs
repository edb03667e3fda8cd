using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.HunyuanVideo.Vae;

/// <summary>
/// diffusers' HunyuanVideoDownsampleCausal3D: a causal conv (<c>conv</c>) with stride 2 in height and width and, where
/// the block compresses time, in time too.
/// </summary>
public sealed class HunyuanVideoDownsample : nn.Module<Tensor, Tensor>
{
    public HunyuanVideoCausalConv3d conv;

    public HunyuanVideoDownsample(long channels, (long T, long H, long W) stride, Device device, ScalarType dtype) : base("HunyuanVideoDownsampleCausal3D")
    {
        register_module("conv", conv = new HunyuanVideoCausalConv3d(channels, channels, 3, device, dtype, stride));
    }

    public override Tensor forward(Tensor x) => conv.forward(x);
}

/// <summary>
/// diffusers' HunyuanVideoUpsampleCausal3D: nearest upsampling (the first frame only in space, the others in time
/// too where the block expands time), then a causal conv (<c>conv</c>). With integer factors, nearest
/// interpolation is exactly a repeat of each element.
/// </summary>
public sealed class HunyuanVideoUpsample : nn.Module<Tensor, Tensor>
{
    private readonly (long T, long H, long W) _factor;
    public HunyuanVideoCausalConv3d conv;

    public HunyuanVideoUpsample(long channels, (long T, long H, long W) factor, Device device, ScalarType dtype) : base("HunyuanVideoUpsampleCausal3D")
    {
        _factor = factor;
        register_module("conv", conv = new HunyuanVideoCausalConv3d(channels, channels, 3, device, dtype));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var y = x.repeat_interleave(_factor.H, 3).repeat_interleave(_factor.W, 4);
        if (_factor.T > 1 && y.shape[2] > 1)
            y = torch.cat(new[] { y.narrow(2, 0, 1), y.narrow(2, 1, y.shape[2] - 1).repeat_interleave(_factor.T, 2) }, 2);
        return conv.forward(y).MoveToOuterDisposeScope();
    }
}

/// <summary>diffusers' HunyuanVideoDownBlock3D: resnets, then an optional <c>downsamplers.0</c>.</summary>
public sealed class HunyuanVideoDownBlock : nn.Module<Tensor, Tensor>
{
    public ModuleList<HunyuanVideoResnetBlock> resnets;
    public ModuleList<HunyuanVideoDownsample>? downsamplers;

    public HunyuanVideoDownBlock(long inChannels, long outChannels, int layers, int groups, (long T, long H, long W)? stride, Device device, ScalarType dtype) : base("HunyuanVideoDownBlock3D")
    {
        resnets = new ModuleList<HunyuanVideoResnetBlock>();
        for (int i = 0; i < layers; i++) resnets.Add(new HunyuanVideoResnetBlock(i == 0 ? inChannels : outChannels, outChannels, groups, device, dtype));
        register_module("resnets", resnets);
        if (stride is { } s)
            register_module("downsamplers", downsamplers = new ModuleList<HunyuanVideoDownsample>(new HunyuanVideoDownsample(outChannels, s, device, dtype)));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        foreach (var resnet in resnets) x = resnet.forward(x);
        if (downsamplers is not null) x = downsamplers[0].forward(x);
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>diffusers' HunyuanVideoUpBlock3D: resnets, then an optional <c>upsamplers.0</c>.</summary>
public sealed class HunyuanVideoUpBlock : nn.Module<Tensor, Tensor>
{
    public ModuleList<HunyuanVideoResnetBlock> resnets;
    public ModuleList<HunyuanVideoUpsample>? upsamplers;

    public HunyuanVideoUpBlock(long inChannels, long outChannels, int layers, int groups, (long T, long H, long W)? factor, Device device, ScalarType dtype) : base("HunyuanVideoUpBlock3D")
    {
        resnets = new ModuleList<HunyuanVideoResnetBlock>();
        for (int i = 0; i < layers; i++) resnets.Add(new HunyuanVideoResnetBlock(i == 0 ? inChannels : outChannels, outChannels, groups, device, dtype));
        register_module("resnets", resnets);
        if (factor is { } f)
            register_module("upsamplers", upsamplers = new ModuleList<HunyuanVideoUpsample>(new HunyuanVideoUpsample(outChannels, f, device, dtype)));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        foreach (var resnet in resnets) x = resnet.forward(x);
        if (upsamplers is not null) x = upsamplers[0].forward(x);
        return x.MoveToOuterDisposeScope();
    }
}
