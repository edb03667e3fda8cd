using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>
/// Wan2.2 TI2V's <c>expand_timesteps</c>: a first-frame mask over the latent grid [1, 1, F, H, W] (1 = denoised, 0 =
/// the conditioning image's frame) and the timestep of each 1×2×2 patch token, mask · t, as WanPipeline and
/// WanImageToVideoPipeline build them (<c>(mask[0][0][:, ::2, ::2] * t).flatten()</c>, expanded over the batch).
/// </summary>
public static class WanTokenTimesteps
{
    /// <summary>Ones [1, 1, F, H, W] float32 on <paramref name="device"/>; the first latent frame 0 when <paramref name="firstFrameConditioned"/>.</summary>
    public static Tensor FirstFrameMask(long[] latentShape, bool firstFrameConditioned, Device device)
    {
        var mask = torch.ones(new[] { 1L, 1, latentShape[2], latentShape[3], latentShape[4] }, ScalarType.Float32, device);
        if (firstFrameConditioned) mask.narrow(2, 0, 1).zero_();
        return mask;
    }

    /// <summary>[B, tokens] float32: <paramref name="t"/> on the masked-in tokens, 0 on the others (tokens in (f, h, w) order).</summary>
    public static Tensor PerToken(Tensor mask, Tensor t, long batch)
    {
        using var scope = torch.NewDisposeScope();
        var perToken = mask[TensorIndex.Single(0), TensorIndex.Single(0), TensorIndex.Colon, TensorIndex.Slice(null, null, 2), TensorIndex.Slice(null, null, 2)].flatten() * t.to(mask.device);
        return perToken.unsqueeze(0).expand(batch, -1).MoveToOuterDisposeScope();
    }

    /// <summary>(1 − mask) · condition + mask · latents: the conditioning frame where the mask is 0.</summary>
    public static Tensor Blend(Tensor mask, Tensor condition, Tensor latents)
    {
        using var scope = torch.NewDisposeScope();
        return ((1 - mask) * condition + mask * latents).MoveToOuterDisposeScope();
    }
}
