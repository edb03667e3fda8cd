using System.Diagnostics;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Schedulers;
using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>
/// One transformer call: latents in the pipeline's layout ([B, C, F, H, W] for Wan and Mochi, [B, F, C, H, W] for
/// CogVideoX), timesteps [B] (the scheduler's dtype, on the device), text → prediction. Inputs that do not change over
/// the steps (CogVideoX's rotary tables) are captured by the delegate.
/// </summary>
public delegate Tensor TransformerCall(Tensor latents, Tensor timestep, TextConditioning text);

/// <summary>
/// The classifier-free-guided denoising loop the text-to-video pipelines share: for each timestep the scheduler has
/// set, the transformer on cond and uncond (one batched call, rows [cond..., uncond...], or two calls), guidance
/// uncond + s·(cond − uncond), the scheduler step; the seam's run state, the per-step callback, progress,
/// cancellation and non-finite detection (the failing call is re-run with a <see cref="NonFiniteLocator"/>).
/// </summary>
public sealed class GuidedDenoisingLoop(IScheduler scheduler, AttentionSeam seam, TransformerCall transformer, string transformerPath)
{
    /// <summary>Cast the branch predictions to float32 before guidance (MochiPipeline's <c>noise_pred.to(torch.float32)</c>, CogVideoXPipeline's <c>noise_pred.float()</c>).</summary>
    public bool Float32Predictions { get; init; }

    /// <summary>
    /// The guidance scale of each step from (step index, raw timestep): CogVideoX's <c>use_dynamic_cfg</c>.
    /// Null: the request's <see cref="GenerationRequest.GuidanceScale"/> at every step.
    /// </summary>
    public Func<int, double, double>? GuidanceScaleAt { get; init; }

    /// <summary>
    /// The denoiser of each step from (step index, raw timestep), set as <see cref="AttentionRunState.Expert"/> before
    /// its forwards (Wan2.2 A14B's expert switch). Null: <see cref="AttentionRunState.MainExpert"/> at every step.
    /// </summary>
    public Func<int, double, string>? ExpertAt { get; init; }

    /// <summary>
    /// The dtype the scheduler's output is cast to before the next step (CogVideoX keeps the latents in the model dtype:
    /// diffusers' <c>latents.to(prompt_embeds.dtype)</c>). Null: as the scheduler returns them.
    /// </summary>
    public ScalarType? LatentsDType { get; init; }

    /// <summary>
    /// Denoises <paramref name="latents"/> (taken over: disposed, or returned as the result) over the scheduler's
    /// timesteps, which the caller has set. <paramref name="uncond"/> is null without guidance.
    /// </summary>
    public Tensor Run(Tensor latents, TextConditioning cond, TextConditioning? uncond, GenerationRequest request)
    {
        try
        {
            if (uncond is not null && uncond.Tokens != cond.Tokens)
                throw new VDiTLensException($"the conditional embeddings have {cond.Tokens} tokens but the unconditional ones {uncond.Tokens}; batched guidance needs the same length (encode both with the same max_sequence_length)");
            using var _ = torch.no_grad();
            using var both = uncond is not null && request.BatchGuidance ? TextConditioning.Concat(cond, uncond) : null;
            scheduler.Reset();
            int steps = (int)scheduler.Timesteps.shape[0];
            var clock = Stopwatch.StartNew();
            request.Progress?.Report(GenerationProgress.After(0, steps, TimeSpan.Zero));
            var state = seam.State;
            try
            {
                for (int i = 0; i < steps; i++)
                {
                    request.Cancellation.ThrowIfCancellationRequested();
                    var step = Step(i, latents, cond, uncond, both, request);
                    latents.Dispose();
                    latents = step.TakeLatents();
                    // The callback runs outside the step's dispose scope, so what it clones is the caller's to keep.
                    using (step)
                        request.OnStep?.Invoke(new StepInfo(i, steps, state.Timestep, step.Latents, step.Guided, step.Cond, step.Uncond));
                    request.Progress?.Report(GenerationProgress.After(i + 1, steps, clock.Elapsed));
                }
            }
            finally
            {
                state.Reset();
            }
            return latents;
        }
        catch
        {
            latents.Dispose();
            throw;
        }
    }

    private StepTensors Step(int i, Tensor latents, TextConditioning cond, TextConditioning? uncond, TextConditioning? both, GenerationRequest request)
    {
        using var scope = torch.NewDisposeScope();
        int batch = (int)latents.shape[0];
        var state = seam.State;
        var t = scheduler.Timesteps[i];
        state.Step = i;
        state.Timestep = t.to(ScalarType.Float64).item<double>();
        state.Expert = ExpertAt?.Invoke(i, state.Timestep) ?? AttentionRunState.MainExpert;
        Tensor condPrediction;
        Tensor? uncondPrediction = null;
        if (both is not null)
        {
            var output = Forward(i, torch.cat(new[] { latents, latents }, 0), t, both, "cfg", BatchLayout.Guided(batch));
            condPrediction = output.narrow(0, 0, batch);
            uncondPrediction = output.narrow(0, batch, batch);
        }
        else
        {
            condPrediction = Forward(i, latents, t, cond, "cond", BatchLayout.Uniform("cond", batch));
            if (uncond is not null)
                uncondPrediction = Forward(i, latents, t, uncond, "uncond", BatchLayout.Uniform("uncond", batch));
        }
        if (Float32Predictions)
        {
            condPrediction = condPrediction.to(ScalarType.Float32);
            uncondPrediction = uncondPrediction?.to(ScalarType.Float32);
        }
        double guidanceScale = GuidanceScaleAt?.Invoke(i, state.Timestep) ?? request.GuidanceScale;
        var guided = uncondPrediction is null
            ? condPrediction
            : uncondPrediction + guidanceScale * (condPrediction - uncondPrediction);
        var next = scheduler.Step(guided, i, latents);
        if (LatentsDType is { } dtype) next = next.to(dtype);
        if (!next.isfinite().all().item<bool>())
            throw new VDiTLensException($"step {i} (timestep {state.Timestep}): the scheduler ({scheduler.ClassName}) produced non-finite latents from finite model outputs");
        return new StepTensors(next.DetachFromDisposeScope(), guided.DetachFromDisposeScope(),
            condPrediction.DetachFromDisposeScope(), uncondPrediction?.DetachFromDisposeScope());
    }

    private Tensor Forward(int step, Tensor latents, Tensor t, TextConditioning text, string branch, BatchLayout layout)
    {
        seam.State.Branch = branch;
        seam.State.Batch = layout;
        var timestep = t.expand(latents.shape[0]).to(latents.device);
        var output = transformer(latents, timestep, text);
        if (output.isfinite().all().item<bool>()) return output;

        // Re-run the same call with a probe to name where the first non-finite value appeared.
        var locator = new NonFiniteLocator();
        using (seam.Attach(locator))
            transformer(latents, timestep, text).Dispose();
        throw new VDiTLensException(
            $"step {step} (timestep {seam.State.Timestep}, branch {branch}): the transformer output is not finite; {locator.Describe()}. " +
            $"Check the transformer weights ({transformerPath}), or run in float32/bfloat16 if this is float16 overflow");
    }
}
