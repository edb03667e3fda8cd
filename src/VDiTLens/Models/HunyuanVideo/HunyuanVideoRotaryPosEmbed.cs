using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Models.HunyuanVideo;

/// <summary>
/// HunyuanVideo's 3D rotary embedding: the head dimension is split by <c>rope_axes_dim</c> into frame, height and
/// width parts, each a 1D rotary over its grid axis (diffusers' get_1d_rotary_pos_embed, use_real, interleaved),
/// computed entirely in float32 as diffusers does.
/// </summary>
public sealed class HunyuanVideoRotaryPosEmbed(int[] axesDim, double theta)
{
    /// <summary>cos, sin each [F·H·W, head_dim] float32, tokens in (f, h, w) order.</summary>
    public (Tensor Cos, Tensor Sin) Tables(VideoGrid grid, Device device)
    {
        using var scope = torch.NewDisposeScope();
        int[] sizes = { grid.Frames, grid.Height, grid.Width };
        var axes = sizes.Select(n => torch.arange(0, n, dtype: ScalarType.Float32, device: device)).ToArray();
        var mesh = torch.meshgrid(axes, indexing: "ij");
        var cos = new List<Tensor>();
        var sin = new List<Tensor>();
        for (int i = 0; i < 3; i++)
        {
            int dim = axesDim[i];
            var exponent = torch.arange(0, dim, 2, dtype: ScalarType.Float32, device: device) / dim;
            var freqs = 1.0 / torch.tensor((float)theta, dtype: ScalarType.Float32, device: device).pow(exponent);
            var angles = torch.outer(mesh[i].reshape(-1), freqs);
            cos.Add(angles.cos().repeat_interleave(2, 1));
            sin.Add(angles.sin().repeat_interleave(2, 1));
        }
        return (torch.cat(cos, 1).MoveToOuterDisposeScope(), torch.cat(sin, 1).MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Rotates interleaved pairs of x [B, L, H, D] by tables [L, D] (diffusers' apply_rotary_emb with
    /// sequence_dim=1): computed in float32, cast back to x's dtype.
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = torch.NewDisposeScope();
        long d = x.shape[^1];
        var pairs = x.reshape(x.shape[0], x.shape[1], x.shape[2], d / 2, 2);
        var real = pairs[TensorIndex.Ellipsis, 0];
        var imag = pairs[TensorIndex.Ellipsis, 1];
        var rotated = torch.stack(new[] { -imag, real }, -1).flatten(3);
        var c = cos.unsqueeze(0).unsqueeze(2);
        var s = sin.unsqueeze(0).unsqueeze(2);
        var f = ScalarType.Float32;
        return (x.to(f) * c + rotated.to(f) * s).to(x.dtype).MoveToOuterDisposeScope();
    }
}
