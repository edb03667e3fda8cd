using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan.Vae;

/// <summary>
/// The Wan2.2 VAE's pixel patchify (diffusers' patchify / unpatchify in autoencoder_kl_wan): p×p pixel patches of each
/// frame become channels, [B, C, F, H, W] ↔ [B, C·p·p, F, H/p, W/p], channel c·p·p + (column offset)·p + (row offset).
/// Both return new tensors.
/// </summary>
public static class WanVaePatches
{
    public static Tensor Patchify(Tensor x, int p)
    {
        long b = x.shape[0], c = x.shape[1], f = x.shape[2], h = x.shape[3], w = x.shape[4];
        if (h % p != 0 || w % p != 0)
            throw new VDiTLensException($"WanVae: height ({h}) and width ({w}) must be multiples of patch_size ({p})");
        using var scope = torch.NewDisposeScope();
        return x.view(b, c, f, h / p, p, w / p, p).permute(0, 1, 6, 4, 2, 3, 5).contiguous()
            .view(b, c * p * p, f, h / p, w / p).MoveToOuterDisposeScope();
    }

    public static Tensor Unpatchify(Tensor x, int p)
    {
        long b = x.shape[0], c = x.shape[1] / (p * p), f = x.shape[2], h = x.shape[3], w = x.shape[4];
        using var scope = torch.NewDisposeScope();
        return x.view(b, c, p, p, f, h, w).permute(0, 1, 4, 5, 3, 6, 2).contiguous()
            .view(b, c, f, h * p, w * p).MoveToOuterDisposeScope();
    }
}
