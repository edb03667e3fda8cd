using VDiTLens.Pipelines;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Retraining;

/// <summary>
/// What a WanImageToVideoPipeline transformer takes besides the latents in every training call, as the pool's
/// generations gave it: the first-frame condition channels (mask and image latents) and, for Wan2.1 I2V, the CLIP
/// image embeddings, built once from <see cref="FirstFrameOptions.Image"/>.
/// </summary>
internal sealed class TrainingImageCondition : IDisposable
{
    private readonly Tensor _channels;
    private readonly Tensor? _embeds;

    private TrainingImageCondition(Tensor channels, Tensor? embeds)
    {
        _channels = channels;
        _embeds = embeds;
    }

    /// <summary>
    /// The condition of <paramref name="options"/>' image on <paramref name="teacher"/>; null without an image or image
    /// channels (a text-to-video folder then refuses the image when the pool is generated).
    /// </summary>
    public static TrainingImageCondition? Of(ITextToVideoPipeline teacher, RetrainOptions options)
    {
        if (teacher is not WanPipeline wan || options.Image is not { } image) return null;
        if (wan.Folder.ExpandTimesteps)
            throw new VDiTLensException($"Image: retrain conditions on an image only through a {WanPipelineFolder.ImageToVideoClass}'s condition channels; {wan.Folder.IndexFile} uses expand_timesteps (Wan2.2 TI2V), retrain it without the image");
        if (!wan.Folder.ConcatImageCondition) return null;
        using var _ = no_grad();
        var request = new GenerationRequest
        {
            Prompts = new[] { "" }, Frames = options.Frames, Height = options.Height, Width = options.Width, Image = image,
        };
        return new TrainingImageCondition(wan.ImageConditionChannels(request), wan.ImageEncoder is null ? null : wan.EncodeImage(image));
    }

    /// <summary>The inputs with the condition channels after the latents' and the image embeddings added.</summary>
    public IReadOnlyDictionary<string, Tensor> AddTo(IReadOnlyDictionary<string, Tensor> inputs)
    {
        var added = new Dictionary<string, Tensor>(inputs) { ["hidden_states"] = WanImageCondition.Concat(inputs["hidden_states"], _channels) };
        if (_embeds is not null) added["encoder_hidden_states_image"] = _embeds;
        return added;
    }

    public void Dispose()
    {
        _channels.Dispose();
        _embeds?.Dispose();
    }
}
