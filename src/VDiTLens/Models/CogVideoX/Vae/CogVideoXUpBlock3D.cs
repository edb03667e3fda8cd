using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.CogVideoX.Vae;

/// <summary>diffusers' CogVideoXUpBlock3D: spatial-norm resnets conditioned on the latents, then (except in the last block) an upsampler.</summary>
public sealed class CogVideoXUpBlock3D : nn.Module
{
    public ModuleList<CogVideoXResnetBlock3D> resnets;
    public ModuleList<CogVideoXUpsample3D>? upsamplers;

    public CogVideoXUpBlock3D(long inChannels, long outChannels, int layers, long groups, double eps, long spatialNormDim, bool addUpsample,
        bool compressTime, Device device, ScalarType dtype) : base("CogVideoXUpBlock3D")
    {
        resnets = new ModuleList<CogVideoXResnetBlock3D>();
        for (int i = 0; i < layers; i++)
            resnets.Add(new CogVideoXResnetBlock3D(i == 0 ? inChannels : outChannels, outChannels, groups, eps, spatialNormDim, device, dtype));
        register_module("resnets", resnets);
        if (addUpsample)
            register_module("upsamplers", upsamplers = new ModuleList<CogVideoXUpsample3D>(new CogVideoXUpsample3D(outChannels, compressTime, device, dtype)));
    }

    public Tensor Forward(Tensor x, Tensor zq, CogVideoXConvCache cache)
    {
        using var scope = torch.NewDisposeScope();
        foreach (var resnet in resnets) x = resnet.Forward(x, zq, cache);
        if (upsamplers is not null)
            foreach (var up in upsamplers) x = up.Forward(x);
        return x.MoveToOuterDisposeScope();
    }
}
