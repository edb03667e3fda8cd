using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.CogVideoX.Vae;

/// <summary>diffusers' CogVideoXMidBlock3D: two resnets (spatial-norm ones in the decoder, where <c>spatialNormDim</c> is set); no attention.</summary>
public sealed class CogVideoXMidBlock3D : nn.Module
{
    public ModuleList<CogVideoXResnetBlock3D> resnets;

    public CogVideoXMidBlock3D(long channels, long groups, double eps, long? spatialNormDim, Device device, ScalarType dtype) : base("CogVideoXMidBlock3D")
    {
        resnets = new ModuleList<CogVideoXResnetBlock3D>();
        for (int i = 0; i < 2; i++)
            resnets.Add(new CogVideoXResnetBlock3D(channels, channels, groups, eps, spatialNormDim, device, dtype));
        register_module("resnets", resnets);
    }

    public Tensor Forward(Tensor x, Tensor? zq, CogVideoXConvCache cache)
    {
        using var scope = torch.NewDisposeScope();
        foreach (var resnet in resnets) x = resnet.Forward(x, zq, cache);
        return x.MoveToOuterDisposeScope();
    }
}
