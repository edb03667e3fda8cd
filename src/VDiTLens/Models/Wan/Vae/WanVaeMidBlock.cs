using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan.Vae;

/// <summary>diffusers' WanMidBlock: resnet, then (attention, resnet) per layer.</summary>
public sealed class WanVaeMidBlock : nn.Module, IWanCausalLayer
{
    public ModuleList<WanVaeResidualBlock> resnets;
    public ModuleList<WanVaeAttentionBlock> attentions;

    public WanVaeMidBlock(long dim, string path, AttentionSeam seam, Device device, ScalarType dtype, int layers = 1) : base("WanMidBlock")
    {
        resnets = new ModuleList<WanVaeResidualBlock>(new WanVaeResidualBlock(dim, dim, device, dtype));
        attentions = new ModuleList<WanVaeAttentionBlock>();
        for (int i = 0; i < layers; i++)
        {
            string name = $"{path}.attentions.{i}";
            attentions.Add(new WanVaeAttentionBlock(dim, new AttentionSite(name, i, AttentionKind.Self, name), seam, device, dtype));
            resnets.Add(new WanVaeResidualBlock(dim, dim, device, dtype));
        }
        register_module("resnets", resnets);
        register_module("attentions", attentions);
    }

    public Tensor Forward(Tensor x, WanCausalCache cache)
    {
        using var scope = torch.NewDisposeScope();
        x = resnets[0].Forward(x, cache);
        for (int i = 0; i < attentions.Count; i++)
            x = resnets[i + 1].Forward(attentions[i].forward(x), cache);
        return x.MoveToOuterDisposeScope();
    }
}
