using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>The starting latents of a generation, shared by the pipelines.</summary>
public static class StartingLatents
{
    /// <summary>
    /// The request's own latents (checked against <paramref name="shape"/>, copied), or Gaussian noise from a CPU
    /// generator seeded with <see cref="GenerationRequest.Seed"/>; float32 on <paramref name="device"/>.
    /// </summary>
    public static Tensor Create(long[] shape, GenerationRequest request, Device device)
    {
        if (request.InitialLatents is { } given)
        {
            if (!given.shape.SequenceEqual(shape))
                throw new VDiTLensException(
                    $"initial latents are [{string.Join(", ", given.shape)}] but {request.BatchSize} prompt(s) at {request.Frames} frames of {request.Height} × {request.Width} need [{string.Join(", ", shape)}]");
            var latents = given.to(ScalarType.Float32).to(device);
            if (ReferenceEquals(latents, given)) latents = given.clone();
            if (!latents.isfinite().all().item<bool>())
            {
                latents.Dispose();
                throw new VDiTLensException("the initial latents contain NaN or Inf values");
            }
            return latents;
        }
        // Drawn on the CPU in float32 then moved, so a seed gives the same noise on every device (as diffusers with a CPU generator).
        using var generator = new Generator((ulong)request.Seed);
        using var noise = torch.randn(shape, ScalarType.Float32, torch.CPU, generator: generator);
        return noise.to(device).clone();
    }
}
