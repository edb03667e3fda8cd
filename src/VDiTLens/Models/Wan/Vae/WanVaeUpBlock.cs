using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan.Vae;

/// <summary>diffusers' WanUpBlock (Wan2.1): num_res_blocks + 1 residual blocks, then an optional upsampler.</summary>
public sealed class WanVaeUpBlock : nn.Module, IWanCausalLayer
{
    public ModuleList<WanVaeResidualBlock> resnets;
    public ModuleList<WanVaeResample>? upsamplers;

    public WanVaeUpBlock(long inDim, long outDim, int numResBlocks, WanResampleMode? upsample, Device device, ScalarType dtype) : base("WanUpBlock")
    {
        resnets = new ModuleList<WanVaeResidualBlock>();
        for (int i = 0; i <= numResBlocks; i++)
            resnets.Add(new WanVaeResidualBlock(i == 0 ? inDim : outDim, outDim, device, dtype));
        register_module("resnets", resnets);
        if (upsample is { } mode)
            register_module("upsamplers", upsamplers = new ModuleList<WanVaeResample>(new WanVaeResample(outDim, mode, device, dtype)));
    }

    public Tensor Forward(Tensor x, WanCausalCache cache)
    {
        using var scope = torch.NewDisposeScope();
        foreach (var resnet in resnets) x = resnet.Forward(x, cache);
        if (upsamplers is not null) x = upsamplers[0].Forward(x, cache);
        return x.MoveToOuterDisposeScope();
    }
}
