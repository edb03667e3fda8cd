using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Training;

/// <summary>
/// The flow-matching loss plus a direction cross-entropy in one forward pass. The first N clips of the batch are also
/// predicted under their caption re-worded for each of the four directions; the per-caption MSE against the clip's
/// target, negated and divided by a temperature, are the logits of a 4-way classification whose label is the true
/// direction (a diffusion classifier). Its gradient moves the true caption's prediction towards the target and the
/// others' away, which the plain MSE only does weakly because most of a clip's velocity does not depend on direction.
/// </summary>
public static class DirectionContrastLoss
{
    /// <returns>The mean MSE over the batch (as without the contrast) and the mean cross-entropy over the N clips.</returns>
    public static (Tensor Flow, Tensor CrossEntropy) Compute(TinyModel model, Tensor noisy, Tensor sigma, Tensor text, Tensor target,
        DirectionContrastBatch contrast, int textLength, double temperature)
    {
        using var scope = torch.NewDisposeScope();
        int n = contrast.Count, d = DirectionContrastBatch.Directions;
        long b = noisy.shape[0];
        var contrastText = model.EncodeText(contrast.Ids, contrast.Mask, textLength);
        var index = torch.arange(n, device: noisy.device).repeat_interleave(d);
        var prediction = model.Predict(torch.cat(new[] { noisy, noisy.index_select(0, index) }, 0),
            torch.cat(new[] { sigma, sigma.index_select(0, index) }, 0), torch.cat(new[] { text, contrastText }, 0));

        var flow = nn.functional.mse_loss(prediction.narrow(0, 0, b), target);
        var error = (prediction.narrow(0, b, n * d) - target.index_select(0, index)).square().flatten(1).mean(new long[] { 1 });
        var logits = -error.reshape(n, d) / temperature;
        var crossEntropy = nn.functional.cross_entropy(logits, contrast.Labels.to(noisy.device));
        return (flow.MoveToOuterDisposeScope(), crossEntropy.MoveToOuterDisposeScope());
    }
}
