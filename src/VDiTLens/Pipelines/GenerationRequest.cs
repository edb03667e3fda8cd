using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>
/// One text-to-video generation. Defaults are diffusers' <c>WanPipeline.__call__</c> defaults (a pipeline's own: <see cref="ITextToVideoPipeline.DefaultRequest"/>). With guidance scale
/// above 1, classifier-free guidance runs the conditional and unconditional passes (see <see cref="BatchGuidance"/>).
/// </summary>
public sealed record GenerationRequest
{
    /// <summary>One video per prompt.</summary>
    public IReadOnlyList<string> Prompts { get; init; } = Array.Empty<string>();

    /// <summary>
    /// Precomputed conditional embeddings [B, L, text_dim] (diffusers' <c>prompt_embeds=</c>, e.g. from
    /// <see cref="WanPipeline.EncodePrompts"/>); used instead of encoding <see cref="Prompts"/>, which may then be empty.
    /// </summary>
    public Tensor? PromptEmbeds { get; init; }

    /// <summary>Precomputed unconditional embeddings [B, L, text_dim] (diffusers' <c>negative_prompt_embeds=</c>); used instead of encoding <see cref="NegativePrompt"/>.</summary>
    public Tensor? NegativePromptEmbeds { get; init; }

    /// <summary>Videos generated: the rows of <see cref="PromptEmbeds"/> when given, else one per prompt.</summary>
    public int BatchSize => PromptEmbeds is { } e ? (int)e.shape[0] : Prompts.Count;

    /// <summary>The unconditional branch's prompt, used for every video (diffusers' default: empty).</summary>
    public string NegativePrompt { get; init; } = "";

    public double GuidanceScale { get; init; } = 5.0;

    /// <summary>
    /// CogVideoXPipeline only (diffusers' <c>use_dynamic_cfg</c>): the scale at timestep t of N steps becomes
    /// 1 + scale · (1 − cos(π · ((N − t) / N)^5)) / 2, computed as diffusers does it (t is the raw timestep, not the step index).
    /// </summary>
    public bool UseDynamicCfg { get; init; }
    public int Steps { get; init; } = 50;

    /// <summary>Seed of the CPU generator the initial Gaussian latents are drawn from (ignored with <see cref="InitialLatents"/>).</summary>
    public long Seed { get; init; }

    public int Height { get; init; } = 480;
    public int Width { get; init; } = 832;
    public int Frames { get; init; } = 81;
    public int MaxSequenceLength { get; init; } = 512;

    /// <summary>Explicit starting latents [B, C, F_latent, H_latent, W_latent] (diffusers' <c>latents=</c>); used as float32.</summary>
    public Tensor? InitialLatents { get; init; }

    /// <summary>
    /// True (default): cond and uncond go through the transformer in ONE call, batch rows [cond..., uncond...], run
    /// state Branch = "cfg" with <see cref="Attention.AttentionRunState.Batch"/> naming each row. False: two calls per
    /// step, Branch "cond" then "uncond" (as diffusers does; probes filtering on the branch see whole calls).
    /// </summary>
    public bool BatchGuidance { get; init; } = true;

    /// <summary>Called after every scheduler step. Its tensors are freed when it returns: clone what you keep.</summary>
    public Action<StepInfo>? OnStep { get; init; }

    public IProgress<GenerationProgress>? Progress { get; init; }

    public CancellationToken Cancellation { get; init; }
}
