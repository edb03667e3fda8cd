using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan.Vae;

/// <summary>
/// diffusers' WanResidualUpBlock (the Wan2.2 VAE decoder): num_res_blocks + 1 residual blocks and an optional
/// upsampler keeping the channel count, plus, when upsampling, the block input duplicated up to the output's size
/// (<see cref="WanVaeShortcuts.DupUp"/>).
/// </summary>
public sealed class WanVaeResidualUpBlock : nn.Module, IWanCausalLayer
{
    private readonly long _outDim;
    private readonly int _ft;
    public ModuleList<WanVaeResidualBlock> resnets;
    public WanVaeResample? upsampler;

    public WanVaeResidualUpBlock(long inDim, long outDim, int numResBlocks, bool temporalUpsample, bool up, Device device, ScalarType dtype)
        : base("WanResidualUpBlock")
    {
        _outDim = outDim;
        _ft = temporalUpsample ? 2 : 1;
        resnets = new ModuleList<WanVaeResidualBlock>();
        for (int i = 0; i <= numResBlocks; i++)
            resnets.Add(new WanVaeResidualBlock(i == 0 ? inDim : outDim, outDim, device, dtype));
        register_module("resnets", resnets);
        if (up)
            register_module("upsampler", upsampler = new WanVaeResample(outDim,
                temporalUpsample ? WanResampleMode.Upsample3d : WanResampleMode.Upsample2d, device, dtype, upsampleOutDim: outDim));
    }

    public Tensor Forward(Tensor x, WanCausalCache cache)
    {
        using var scope = torch.NewDisposeScope();
        var input = x;
        foreach (var resnet in resnets) x = resnet.Forward(x, cache);
        if (upsampler is null) return x.MoveToOuterDisposeScope();
        x = upsampler.Forward(x, cache);
        return (x + WanVaeShortcuts.DupUp(input, _outDim, _ft, 2, cache.FirstChunk)).MoveToOuterDisposeScope();
    }
}
