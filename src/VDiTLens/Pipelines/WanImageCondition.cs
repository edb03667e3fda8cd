using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>
/// The image condition of diffusers' WanImageToVideoPipeline without expand_timesteps (Wan2.1 I2V, Wan2.2 I2V-A14B),
/// built as its <c>prepare_latents</c> builds it: the image followed by black frames is VAE-encoded, and the latents'
/// mode, normalised, follows a first-frame mask of the VAE's temporal-scale channels; the transformer gets
/// cat(latents, mask, image latents) on the channel axis at every step.
/// </summary>
public static class WanImageCondition
{
    /// <summary>
    /// The mask [B, T, F', H', W'] (T = the VAE's temporal scale, F' = (frames − 1) / T + 1): 1 over the first latent
    /// frame, 0 elsewhere. As diffusers builds it: a per-frame mask (the first frame 1), the first frame repeated T
    /// times, the frames grouped by T into the channel axis.
    /// </summary>
    public static Tensor FirstFrameMask(long batch, int temporalScale, int frames, long latentHeight, long latentWidth, Device device)
    {
        using var scope = torch.NewDisposeScope();
        var perFrame = torch.zeros(new[] { batch, 1L, frames, latentHeight, latentWidth }, ScalarType.Float32, device);
        perFrame.narrow(2, 0, 1).fill_(1);
        var first = perFrame.narrow(2, 0, 1).repeat_interleave(temporalScale, 2);
        var mask = torch.cat(new[] { first, perFrame.narrow(2, 1, frames - 1) }, 2)
            .view(batch, -1, temporalScale, latentHeight, latentWidth)
            .transpose(1, 2);
        return mask.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>The video the VAE encodes: the image [B, 3, H, W] (in [−1, 1]) as frame 0, then frames − 1 zero frames → [B, 3, frames, H, W].</summary>
    public static Tensor ConditionVideo(Tensor pixels, int frames)
    {
        using var scope = torch.NewDisposeScope();
        var first = pixels.unsqueeze(2);
        if (frames == 1) return first.MoveToOuterDisposeScope();
        var rest = torch.zeros(new[] { pixels.shape[0], pixels.shape[1], frames - 1, pixels.shape[2], pixels.shape[3] }, pixels.dtype, pixels.device);
        return torch.cat(new[] { first, rest }, 2).MoveToOuterDisposeScope();
    }

    /// <summary>cat(latents, condition) on the channel axis, the condition's rows repeated to the latents' (batched guidance).</summary>
    public static Tensor Concat(Tensor latents, Tensor condition)
    {
        using var scope = torch.NewDisposeScope();
        var rows = condition.shape[0] == latents.shape[0] ? condition : condition.repeat(latents.shape[0] / condition.shape[0], 1, 1, 1, 1);
        return torch.cat(new[] { latents, rows.to(latents.dtype) }, 1).MoveToOuterDisposeScope();
    }
}
