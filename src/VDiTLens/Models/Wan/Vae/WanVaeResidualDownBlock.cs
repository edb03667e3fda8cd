using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan.Vae;

/// <summary>
/// diffusers' WanResidualDownBlock (the Wan2.2 VAE encoder): residual blocks and an optional downsampler, plus the
/// block input averaged down to the output's size (<see cref="WanVaeShortcuts.AvgDown"/>).
/// </summary>
public sealed class WanVaeResidualDownBlock : nn.Module, IWanCausalLayer
{
    private readonly long _outDim;
    private readonly int _ft, _fs;
    public ModuleList<WanVaeResidualBlock> resnets;
    public WanVaeResample? downsampler;

    public WanVaeResidualDownBlock(long inDim, long outDim, int numResBlocks, bool temporalDownsample, bool down, Device device, ScalarType dtype)
        : base("WanResidualDownBlock")
    {
        _outDim = outDim;
        _ft = temporalDownsample ? 2 : 1;
        _fs = down ? 2 : 1;
        resnets = new ModuleList<WanVaeResidualBlock>();
        for (int i = 0; i < numResBlocks; i++)
            resnets.Add(new WanVaeResidualBlock(i == 0 ? inDim : outDim, outDim, device, dtype));
        register_module("resnets", resnets);
        if (down)
            register_module("downsampler", downsampler = new WanVaeResample(outDim,
                temporalDownsample ? WanResampleMode.Downsample3d : WanResampleMode.Downsample2d, device, dtype));
    }

    public Tensor Forward(Tensor x, WanCausalCache cache)
    {
        using var scope = torch.NewDisposeScope();
        var input = x;
        foreach (var resnet in resnets) x = resnet.Forward(x, cache);
        if (downsampler is not null) x = downsampler.Forward(x, cache);
        return (x + WanVaeShortcuts.AvgDown(input, _outDim, _ft, _fs)).MoveToOuterDisposeScope();
    }
}
