using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.CogVideoX.Vae;

/// <summary>diffusers' CogVideoXDownBlock3D: GroupNorm resnets, then (except in the last block) a downsampler.</summary>
public sealed class CogVideoXDownBlock3D : nn.Module
{
    public ModuleList<CogVideoXResnetBlock3D> resnets;
    public ModuleList<CogVideoXDownsample3D>? downsamplers;

    public CogVideoXDownBlock3D(long inChannels, long outChannels, int layers, long groups, double eps, bool addDownsample, bool compressTime,
        Device device, ScalarType dtype) : base("CogVideoXDownBlock3D")
    {
        resnets = new ModuleList<CogVideoXResnetBlock3D>();
        for (int i = 0; i < layers; i++)
            resnets.Add(new CogVideoXResnetBlock3D(i == 0 ? inChannels : outChannels, outChannels, groups, eps, null, device, dtype));
        register_module("resnets", resnets);
        if (addDownsample)
            register_module("downsamplers", downsamplers = new ModuleList<CogVideoXDownsample3D>(new CogVideoXDownsample3D(outChannels, compressTime, device, dtype)));
    }

    public Tensor Forward(Tensor x, CogVideoXConvCache cache)
    {
        using var scope = torch.NewDisposeScope();
        foreach (var resnet in resnets) x = resnet.Forward(x, null, cache);
        if (downsamplers is not null)
            foreach (var down in downsamplers) x = down.Forward(x);
        return x.MoveToOuterDisposeScope();
    }
}
