using VDiTLens.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.HunyuanVideo;

/// <summary>diffusers' HunyuanVideoPatchEmbed: a strided Conv3d (<c>proj</c>), then [B, C, F, H, W] → [B, F·H·W, C].</summary>
public sealed class HunyuanVideoPatchEmbed : nn.Module<Tensor, Tensor>
{
    public Conv3d proj;

    public HunyuanVideoPatchEmbed(long inChannels, long dim, int patchT, int patch, Device device, ScalarType dtype) : base("HunyuanVideoPatchEmbed")
    {
        register_module("proj", proj = nn.Conv3d(inChannels, dim, (patchT, patch, patch), stride: (patchT, patch, patch), device: device, dtype: dtype));
    }

    public override Tensor forward(Tensor latents)
    {
        using var scope = torch.NewDisposeScope();
        return CpuSafeConvolution.Conv3d(proj, latents, stride: proj.weight!.shape[2..]).flatten(2).transpose(1, 2).contiguous().MoveToOuterDisposeScope();
    }
}
