using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Models.CogVideoX;

/// <summary>
/// CogVideoX-5B's 3D rotary tables exactly as <c>CogVideoXPipeline._prepare_rotary_positional_embeddings</c> makes
/// them (diffusers' get_3d_rotary_pos_embed, "linspace" grid over the resize-crop region of the base grid), all in
/// float32, and their application to the video part of q and k.
/// </summary>
public static class CogVideoXRotaryEmbedding
{
    /// <summary>
    /// The pipeline's call itself: pixel <paramref name="height"/> and <paramref name="width"/>, latent frames, the VAE's
    /// spatial factor (8 for CogVideoX); grid = pixels / (factor · patch_size), as integer division.
    /// </summary>
    public static (Tensor Cos, Tensor Sin) ForPipeline(CogVideoXConfig config, int height, int width, int latentFrames,
        int vaeScaleFactorSpatial = 8, Device? device = null)
    {
        int divisor = vaeScaleFactorSpatial * config.patch_size;
        return Tables(config, new VideoGrid(latentFrames, height / divisor, width / divisor), device);
    }

    /// <summary>
    /// cos, sin [F·H·W, head_dim] float32 for a latent video of <paramref name="grid"/> patches (the pipeline's
    /// height/(8·patch), width/(8·patch) and latent frames).
    /// </summary>
    public static (Tensor Cos, Tensor Sin) Tables(CogVideoXConfig config, VideoGrid grid, Device? device = null)
    {
        using var scope = torch.NewDisposeScope();
        int baseWidth = config.sample_width / config.patch_size, baseHeight = config.sample_height / config.patch_size;
        var ((top, left), (bottom, right)) = ResizeCropRegion(grid.Height, grid.Width, baseWidth, baseHeight);
        int t = grid.Frames, h = grid.Height, w = grid.Width;
        var gridH = torch.linspace(top, bottom * (h - 1) / (double)h, h, dtype: ScalarType.Float32);
        var gridW = torch.linspace(left, right * (w - 1) / (double)w, w, dtype: ScalarType.Float32);
        var gridT = torch.linspace(0, t * (t - 1) / (double)t, t, dtype: ScalarType.Float32);

        int headDim = config.attention_head_dim;
        int dimT = headDim / 4, dimH = headDim / 8 * 3, dimW = headDim / 8 * 3;
        var (tCos, tSin) = OneAxis(dimT, gridT);
        var (hCos, hSin) = OneAxis(dimH, gridH);
        var (wCos, wSin) = OneAxis(dimW, gridW);
        var cos = Combine(tCos, hCos, wCos, grid);
        var sin = Combine(tSin, hSin, wSin, grid);
        if (device is not null)
        {
            cos = cos.to(device);
            sin = sin.to(device);
        }
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>diffusers' get_resize_crop_region_for_grid (Python round: half to even, as Math.Round).</summary>
    public static ((int Top, int Left), (int Bottom, int Right)) ResizeCropRegion(int height, int width, int targetWidth, int targetHeight)
    {
        double r = (double)height / width;
        int resizeHeight, resizeWidth;
        if (r > (double)targetHeight / targetWidth)
        {
            resizeHeight = targetHeight;
            resizeWidth = (int)Math.Round((double)targetHeight / height * width);
        }
        else
        {
            resizeWidth = targetWidth;
            resizeHeight = (int)Math.Round((double)targetWidth / width * height);
        }
        int top = (int)Math.Round((targetHeight - resizeHeight) / 2.0);
        int left = (int)Math.Round((targetWidth - resizeWidth) / 2.0);
        return ((top, left), (top + resizeHeight, left + resizeWidth));
    }

    /// <summary>Rotates interleaved pairs of x [B, H, L, D]; computed in float32 and cast back, as diffusers' apply_rotary_emb.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = torch.NewDisposeScope();
        var shape = x.shape;
        var pairs = x.reshape(shape[0], shape[1], shape[2], shape[3] / 2, 2);
        var real = pairs[TensorIndex.Ellipsis, 0];
        var imaginary = pairs[TensorIndex.Ellipsis, 1];
        var rotated = torch.stack(new[] { -imaginary, real }, -1).flatten(3);
        var f = ScalarType.Float32;
        var c = cos.to(f).unsqueeze(0).unsqueeze(0);
        var s = sin.to(f).unsqueeze(0).unsqueeze(0);
        return (x.to(f) * c + rotated.to(f) * s).to(x.dtype).MoveToOuterDisposeScope();
    }

    private static (Tensor Cos, Tensor Sin) OneAxis(int dim, Tensor positions)
    {
        var exponent = torch.arange(0, dim, 2, dtype: ScalarType.Float32) / dim;
        var freqs = 1.0 / torch.pow(10000.0, exponent);
        var angles = torch.outer(positions, freqs);
        return (angles.cos().repeat_interleave(2, 1), angles.sin().repeat_interleave(2, 1));
    }

    private static Tensor Combine(Tensor t, Tensor h, Tensor w, VideoGrid g)
    {
        var tt = t.view(g.Frames, 1, 1, -1).expand(g.Frames, g.Height, g.Width, -1);
        var hh = h.view(1, g.Height, 1, -1).expand(g.Frames, g.Height, g.Width, -1);
        var ww = w.view(1, 1, g.Width, -1).expand(g.Frames, g.Height, g.Width, -1);
        return torch.cat(new[] { tt, hh, ww }, -1).reshape(g.Count, -1);
    }
}
