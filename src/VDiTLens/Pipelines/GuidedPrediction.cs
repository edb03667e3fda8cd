using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>
/// Classifier-free guidance around a transformer call: the conditional and unconditional predictions, either from one
/// batched call (rows [cond..., uncond...], branch "cfg") or from two calls (branches "cond" then "uncond"), and
/// uncond + scale · (cond − uncond). The seam's run state names the branch and rows of every call.
/// </summary>
internal static class GuidedPrediction
{
    /// <param name="forward">(latents, text embeddings) → prediction, for one call; the run state is set before it runs.</param>
    /// <param name="both">cond and uncond embeddings concatenated on the batch dimension, for a batched call; null: two calls.</param>
    /// <returns>guided, cond, uncond (null without guidance) in the caller's dispose scope; guided is cond itself without guidance.</returns>
    public static (Tensor Guided, Tensor Cond, Tensor? Uncond) Run(AttentionRunState state, Tensor latents, Tensor cond, Tensor? uncond,
        Tensor? both, double scale, Func<Tensor, Tensor, Tensor> forward)
    {
        int batch = (int)latents.shape[0];
        Tensor condPrediction;
        Tensor? uncondPrediction = null;
        if (both is not null)
        {
            Set(state, "cfg", BatchLayout.Guided(batch));
            var output = forward(torch.cat(new[] { latents, latents }, 0), both);
            condPrediction = output.narrow(0, 0, batch);
            uncondPrediction = output.narrow(0, batch, batch);
        }
        else
        {
            Set(state, "cond", BatchLayout.Uniform("cond", batch));
            condPrediction = forward(latents, cond);
            if (uncond is not null)
            {
                Set(state, "uncond", BatchLayout.Uniform("uncond", batch));
                uncondPrediction = forward(latents, uncond);
            }
        }
        var guided = uncondPrediction is null
            ? condPrediction
            : uncondPrediction + scale * (condPrediction - uncondPrediction);
        return (guided, condPrediction, uncondPrediction);
    }

    private static void Set(AttentionRunState state, string branch, BatchLayout layout)
    {
        state.Branch = branch;
        state.Batch = layout;
    }
}
