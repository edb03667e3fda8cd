using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>The starting latents of a generation, shared by the pipelines.</summary>
public static class StartingLatents
{
    /// <summary>
    /// The request's own latents (checked against <paramref name="shape"/>, copied), or Gaussian noise drawn on the CPU
    /// from <paramref name="generator"/> (default: a fresh one seeded with <see cref="GenerationRequest.Seed"/>); in
    /// <paramref name="dtype"/> (Wan and Mochi: float32; CogVideoX: the model dtype) on <paramref name="device"/>.
    /// A caller that passes its generator may keep drawing from it (CogVideoX's DPM scheduler, as diffusers' <c>generator=</c>).
    /// </summary>
    public static Tensor Create(long[] shape, GenerationRequest request, Device device,
        ScalarType dtype = ScalarType.Float32, Generator? generator = null)
    {
        if (request.InitialLatents is { } given)
        {
            if (!given.shape.SequenceEqual(shape))
                throw new VDiTLensException(
                    $"initial latents are [{string.Join(", ", given.shape)}] but {request.BatchSize} prompt(s) at {request.Frames} frames of {request.Height} × {request.Width} need [{string.Join(", ", shape)}]");
            var latents = given.to(dtype).to(device);
            if (ReferenceEquals(latents, given)) latents = given.clone();
            if (!latents.isfinite().all().item<bool>())
            {
                latents.Dispose();
                throw new VDiTLensException("the initial latents contain NaN or Inf values");
            }
            return latents;
        }
        // Drawn on the CPU then moved, so a seed gives the same noise on every device (as diffusers with a CPU generator).
        using var own = generator is null ? new Generator((ulong)request.Seed) : null;
        using var noise = torch.randn(shape, dtype, torch.CPU, generator: generator ?? own);
        return noise.to(device).clone();
    }
}
