using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>The checks and conversions of a request's inputs that every text-to-video pipeline makes the same way.</summary>
internal static class PipelineInputs
{
    public static void Validate(GenerationRequest request)
    {
        if (request.BatchSize == 0) throw new VDiTLensException("no prompt given: a generation needs at least one prompt (or PromptEmbeds)");
        if (request.Steps < 1) throw new VDiTLensException($"steps = {request.Steps}: at least 1 denoising step is needed");
        if (!double.IsFinite(request.GuidanceScale)) throw new VDiTLensException($"guidance scale {request.GuidanceScale} is not a finite number");
        if (request.MaxSequenceLength < 1) throw new VDiTLensException($"max_sequence_length = {request.MaxSequenceLength}: must be at least 1");
    }

    /// <summary>A caller's embeddings [batch, L, textDim], checked, as a new tensor in <paramref name="dtype"/> on <paramref name="device"/>.</summary>
    public static Tensor GivenEmbeddings(Tensor embeds, int batch, long textDim, string what, ScalarType dtype, Device device)
    {
        if (embeds.dim() != 3 || embeds.shape[0] != batch || embeds.shape[2] != textDim)
            throw new VDiTLensException($"{what} is [{string.Join(", ", embeds.shape)}]; it must be [{batch}, L, {textDim}] (batch, tokens, the transformer's text width)");
        using var scope = torch.NewDisposeScope();
        var moved = embeds.alias().to(dtype).to(device);
        if (!moved.isfinite().all().item<bool>())
            throw new VDiTLensException($"{what} contains NaN or Inf values");
        return moved.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The request's own starting latents (checked against <paramref name="shape"/>, a new tensor in <paramref name="dtype"/>
    /// on <paramref name="device"/>), or Gaussian noise drawn on the CPU in <paramref name="dtype"/> from
    /// <paramref name="generator"/> and moved, so a seed gives the same noise on every device (as diffusers' randn_tensor
    /// with a CPU generator).
    /// </summary>
    public static Tensor InitialLatents(GenerationRequest request, long[] shape, ScalarType dtype, Device device, Generator generator)
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
        using var noise = torch.randn(shape, dtype, torch.CPU, generator: generator);
        return noise.to(device).clone();
    }

    /// <summary>
    /// Runs a transformer call; if its output is not finite, runs it again with a <see cref="NonFiniteLocator"/> attached
    /// to <paramref name="seam"/> and throws an error naming where the first non-finite value appeared.
    /// </summary>
    public static Tensor CheckedForward(Attention.AttentionSeam seam, Func<Tensor> forward, int step, string weights)
    {
        var output = forward();
        if (output.isfinite().all().item<bool>()) return output;
        var locator = new NonFiniteLocator();
        using (seam.Attach(locator))
            forward().Dispose();
        throw new VDiTLensException(
            $"step {step} (timestep {seam.State.Timestep}, branch {seam.State.Branch}): the transformer output is not finite; {locator.Describe()}. " +
            $"Check the transformer weights ({weights}), or run in float32/bfloat16 if this is float16 overflow");
    }

    /// <summary>diffusers' postprocess_video: pixels [B, C, F, H, W] in [-1, 1] → video [B, F, H, W, C] float32 in [0, 1] on the CPU.</summary>
    public static Tensor ToVideo(Tensor pixels)
    {
        using var scope = torch.NewDisposeScope();
        var video = (pixels / 2 + 0.5).clamp(0.0, 1.0).permute(0, 2, 3, 4, 1).to(ScalarType.Float32).cpu().contiguous();
        return video.MoveToOuterDisposeScope();
    }
}
