using TorchSharp;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.Mochi;

/// <summary>
/// diffusers' MochiModulatedRMSNorm: parameter-free RMS norm computed entirely in float32, times an optional scale,
/// cast back to the input dtype.
/// </summary>
public static class MochiModulatedRmsNorm
{
    public static Tensor Apply(Tensor x, double eps, Tensor? scale = null)
    {
        using var scope = torch.NewDisposeScope();
        var f = x.to(ScalarType.Float32);
        var y = f * torch.rsqrt(f.pow(2).mean(new long[] { -1 }, keepdim: true) + eps);
        if (scale is not null) y = y * scale;
        return y.to(x.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Apply(x, eps, scale) with scale [B, D], added to <paramref name="residual"/> when given (in x's dtype, as the
    /// block's residual sum); one fused kernel on CUDA in 16-bit types.
    /// </summary>
    public static Tensor Modulated(Tensor? residual, Tensor x, double eps, Tensor scale) =>
        FusedOrReference.RmsModulate(residual, x, scale, eps, () =>
        {
            var normed = Apply(x, eps, scale.unsqueeze(1));
            if (residual is null) return normed;
            using (normed) return residual + normed;
        });
}
