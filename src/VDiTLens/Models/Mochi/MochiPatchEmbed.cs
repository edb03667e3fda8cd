using VDiTLens.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Models.Mochi;

/// <summary>diffusers' PatchEmbed without positional embedding, applied per frame: [B, C, F, H, W] → [B, F·H/p·W/p, dim].</summary>
public sealed class MochiPatchEmbed : nn.Module
{
    public Conv2d proj;

    public MochiPatchEmbed(long inChannels, long dim, long patch, Device device, ScalarType dtype) : base("PatchEmbed")
    {
        register_module("proj", proj = nn.Conv2d(inChannels, dim, (patch, patch), stride: (patch, patch), device: device, dtype: dtype));
    }

    public Tensor Forward(Tensor latents, VideoGrid grid)
    {
        using var scope = torch.NewDisposeScope();
        long b = latents.shape[0];
        var frames = latents.permute(0, 2, 1, 3, 4).reshape(b * grid.Frames, latents.shape[1], latents.shape[3], latents.shape[4]);
        return CpuSafeConvolution.Conv2d(proj, frames, stride: proj.weight!.shape[2..]).flatten(2).transpose(1, 2).reshape(b, grid.Count, -1).MoveToOuterDisposeScope();
    }
}
