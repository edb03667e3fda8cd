using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Models.HunyuanVideo.Vae;

/// <summary>diffusers' HunyuanVideoMidBlock3D (one layer): resnet, attention (unless mid_block_add_attention is false), resnet.</summary>
public sealed class HunyuanVideoVaeMidBlock : nn.Module<Tensor, Tensor>
{
    public ModuleList<HunyuanVideoResnetBlock> resnets;
    public ModuleList<HunyuanVideoVaeAttention> attentions;

    public HunyuanVideoVaeMidBlock(long channels, int groups, bool addAttention, string path, AttentionSeam seam, Device device, ScalarType dtype) : base("HunyuanVideoMidBlock3D")
    {
        resnets = new ModuleList<HunyuanVideoResnetBlock>(
            new HunyuanVideoResnetBlock(channels, channels, groups, device, dtype),
            new HunyuanVideoResnetBlock(channels, channels, groups, device, dtype));
        attentions = new ModuleList<HunyuanVideoVaeAttention>();
        if (addAttention)
        {
            string name = $"{path}.attentions.0";
            attentions.Add(new HunyuanVideoVaeAttention(channels, groups, new AttentionSite(name, 0, AttentionKind.Self, name), seam, device, dtype));
        }
        register_module("resnets", resnets);
        register_module("attentions", attentions);
    }

    public IEnumerable<AttentionSite> Sites => attentions.Select(a => a.Site);

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        x = resnets[0].forward(x);
        if (attentions.Count > 0) x = attentions[0].forward(x);
        return resnets[1].forward(x).MoveToOuterDisposeScope();
    }
}
