using System.Diagnostics;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Schedulers;
using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>
/// The loop every text-to-video pipeline shares: the scheduler's timesteps in order, the seam's run state following
/// the step, cancellation, the per-step callback and progress reports.
/// </summary>
internal static class DenoisingLoop
{
    /// <summary>
    /// Runs <paramref name="step"/> (step index, current latents → the step's tensors) once per timestep, replacing
    /// <paramref name="latents"/> by each step's output (the old one is disposed). The run state is reset afterwards.
    /// </summary>
    public static void Run(GenerationRequest request, IScheduler scheduler, AttentionRunState state, ref Tensor latents,
        Func<int, Tensor, StepTensors> step)
    {
        scheduler.SetTimesteps(request.Steps);
        scheduler.Reset();
        int steps = (int)scheduler.Timesteps.shape[0];
        var clock = Stopwatch.StartNew();
        request.Progress?.Report(GenerationProgress.After(0, steps, TimeSpan.Zero));
        try
        {
            for (int i = 0; i < steps; i++)
            {
                request.Cancellation.ThrowIfCancellationRequested();
                state.Step = i;
                using (var t = scheduler.Timesteps[i])
                    state.Timestep = t.to(ScalarType.Float64).item<double>();
                var result = step(i, latents);
                latents.Dispose();
                latents = result.TakeLatents();
                // The callback runs outside the step's dispose scope, so what it clones is the caller's to keep.
                using (result)
                    request.OnStep?.Invoke(new StepInfo(i, steps, state.Timestep, result.Latents, result.Guided, result.Cond, result.Uncond));
                request.Progress?.Report(GenerationProgress.After(i + 1, steps, clock.Elapsed));
            }
        }
        finally
        {
            state.Reset();
        }
    }
}
