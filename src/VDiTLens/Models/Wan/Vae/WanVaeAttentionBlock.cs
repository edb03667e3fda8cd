using VDiTLens.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan.Vae;

/// <summary>
/// diffusers' WanAttentionBlock: single-head self-attention within each frame (no mixing across time), through
/// the VAE's attention seam; RMS norm, 1×1 conv to q/k/v, 1×1 output projection, residual.
/// </summary>
public sealed class WanVaeAttentionBlock : nn.Module, IWanCausalLayer
{
    private readonly AttentionSeam _seam;
    public AttentionSite Site { get; }
    public WanVaeRmsNorm norm;
    public Conv2d to_qkv, proj;

    public WanVaeAttentionBlock(long dim, AttentionSite site, AttentionSeam seam, Device device, ScalarType dtype) : base("WanAttentionBlock")
    {
        _seam = seam;
        Site = site;
        register_module("norm", norm = new WanVaeRmsNorm(dim, images: true, device, dtype));
        register_module("to_qkv", to_qkv = nn.Conv2d(dim, dim * 3, 1, device: device, dtype: dtype));
        register_module("proj", proj = nn.Conv2d(dim, dim, 1, device: device, dtype: dtype));
    }

    public Tensor Forward(Tensor x, WanCausalCache cache) => forward(x);

    public Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        long b = x.shape[0], c = x.shape[1], t = x.shape[2], h = x.shape[3], w = x.shape[4];
        var frames = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w);
        var qkv = CpuSafeConvolution.Conv2d(to_qkv, norm.forward(frames)).reshape(b * t, 1, c * 3, h * w).permute(0, 1, 3, 2).contiguous();
        var parts = qkv.chunk(3, -1);
        var layout = TokenLayout.Video(new VideoGrid(1, (int)h, (int)w));
        var attended = _seam.Attend(Site, parts[0], parts[1], parts[2], layout, layout);
        var y = CpuSafeConvolution.Conv2d(proj, attended.squeeze(1).permute(0, 2, 1).reshape(b * t, c, h, w));
        return (y.view(b, t, c, h, w).permute(0, 2, 1, 3, 4) + x).MoveToOuterDisposeScope();
    }
}
