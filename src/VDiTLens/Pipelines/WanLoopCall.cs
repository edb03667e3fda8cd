using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>
/// The transformer call of a Wan denoising loop for one request, its conditioning prepared once: the expert named by
/// <see cref="AttentionRunState.Expert"/>, and where the folder asks for them the image condition channels and CLIP
/// image embeddings (WanImageToVideoPipeline) or the first-frame mask, condition latents and per-token timesteps
/// (expand_timesteps). <see cref="WanPipeline.Denoise"/> runs every step through it, so a study that re-runs a step
/// (e.g. with an intervention attached) calls the transformer exactly as the loop did.
/// </summary>
public sealed class WanLoopCall : IDisposable
{
    private readonly WanPipeline _pipeline;
    private readonly Tensor? _mask, _condition, _imageEmbeds;

    internal WanLoopCall(WanPipeline pipeline, Tensor? mask, Tensor? condition, Tensor? imageEmbeds)
    {
        _pipeline = pipeline;
        (_mask, _condition, _imageEmbeds) = (mask, condition, imageEmbeds);
    }

    /// <summary>The denoiser's output for latents <paramref name="x"/> [B, C, F, H, W] at the scheduler's timestep <paramref name="t"/> [B] with one branch's (or both branches') text.</summary>
    public Tensor Forward(Tensor x, Tensor t, TextConditioning text)
    {
        using var scope = torch.NewDisposeScope();
        var model = _pipeline.Experts.Activate(_pipeline.Seam.State.Expert);
        if (_pipeline.Folder.ConcatImageCondition)
        {
            var imageRows = _imageEmbeds is null || _imageEmbeds.shape[0] == x.shape[0] ? _imageEmbeds
                : _imageEmbeds.repeat(x.shape[0] / _imageEmbeds.shape[0], 1, 1);
            return model.Forward(WanImageCondition.Concat(x, _condition!), t, text.Embeds, imageRows).MoveToOuterDisposeScope();
        }
        // batched guidance stacks [cond…, uncond…] rows of the same latents: the condition repeats with them
        var rows = _condition is null || _condition.shape[0] == x.shape[0] ? _condition
            : _condition.repeat(x.shape[0] / _condition.shape[0], 1, 1, 1, 1);
        var input = rows is null ? x : WanTokenTimesteps.Blend(_mask!, rows, x);
        var timestep = _mask is null ? t : WanTokenTimesteps.PerToken(_mask, t[0], x.shape[0]);
        return model.Forward(input, timestep, text.Embeds).MoveToOuterDisposeScope();
    }

    /// <summary>The loop's final latents as the pipeline returns them: with expand_timesteps and an image, the first frame replaced by the image's latents.</summary>
    internal Tensor Finish(Tensor final)
    {
        if (_condition is null || _mask is null) return final;
        using (final) return WanTokenTimesteps.Blend(_mask, _condition, final);
    }

    public void Dispose()
    {
        _mask?.Dispose();
        _condition?.Dispose();
        _imageEmbeds?.Dispose();
    }
}
