using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Models.CogVideoX;

/// <summary>
/// CogVideoX-2B's fixed 3D sin-cos positional embedding (diffusers' get_3d_sincos_pos_embed): a quarter of the
/// channels encode the frame, three quarters the patch position (first half of those the column, then the row).
/// Positions are float32 (as diffusers builds its grids), frequencies and sines float64.
/// </summary>
public static class CogVideoXSinCosPositions
{
    /// <summary>[F·H·W, embedDim] float64, tokens ordered (f, h, w).</summary>
    public static Tensor Video(int embedDim, VideoGrid grid, double spatialInterpolationScale, double temporalInterpolationScale)
    {
        using var scope = torch.NewDisposeScope();
        int spatialDim = 3 * embedDim / 4, temporalDim = embedDim / 4;
        var rows = Positions(grid.Height, spatialInterpolationScale);
        var columns = Positions(grid.Width, spatialInterpolationScale);
        var frames = Positions(grid.Frames, temporalInterpolationScale);

        var columnEmbed = OneAxis(spatialDim / 2, columns).unsqueeze(0).expand(grid.Height, grid.Width, -1);
        var rowEmbed = OneAxis(spatialDim / 2, rows).unsqueeze(1).expand(grid.Height, grid.Width, -1);
        var spatial = torch.cat(new[] { columnEmbed, rowEmbed }, -1).reshape(1, (long)grid.Height * grid.Width, spatialDim)
            .expand(grid.Frames, -1, -1);
        var temporal = OneAxis(temporalDim, frames).unsqueeze(1).expand(-1, (long)grid.Height * grid.Width, -1);
        return torch.cat(new[] { temporal, spatial }, -1).reshape(grid.Count, embedDim).MoveToOuterDisposeScope();
    }

    /// <summary>The joint table diffusers registers as <c>patch_embed.pos_embedding</c>: [1, text + F·H·W, embedDim], text rows zero.</summary>
    public static Tensor Joint(int embedDim, VideoGrid grid, int textLength, double spatialInterpolationScale, double temporalInterpolationScale)
    {
        using var scope = torch.NewDisposeScope();
        var video = Video(embedDim, grid, spatialInterpolationScale, temporalInterpolationScale);
        var text = torch.zeros(textLength, embedDim, dtype: ScalarType.Float64);
        return torch.cat(new[] { text, video }, 0).unsqueeze(0).MoveToOuterDisposeScope();
    }

    private static Tensor Positions(int count, double interpolationScale) =>
        (torch.arange(count, dtype: ScalarType.Float32) / interpolationScale).to(ScalarType.Float64);

    /// <summary>[sin(pos·ω), cos(pos·ω)] with ω_i = 10000^(−i/(dim/2)).</summary>
    private static Tensor OneAxis(int dim, Tensor positions)
    {
        var omega = torch.arange(dim / 2, dtype: ScalarType.Float64) / (dim / 2.0);
        omega = 1.0 / torch.pow(10000.0, omega);
        var angles = torch.outer(positions, omega);
        return torch.cat(new[] { angles.sin(), angles.cos() }, 1);
    }
}
