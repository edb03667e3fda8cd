using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>
/// One text-to-video generation. Defaults are diffusers' <c>WanPipeline.__call__</c> defaults (a pipeline's own: <see cref="ITextToVideoPipeline.Defaults"/>). With guidance scale
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

    /// <summary>
    /// The token mask [B, L] of <see cref="PromptEmbeds"/> (diffusers' <c>prompt_attention_mask=</c>; 1 = real token),
    /// for pipelines whose transformer takes one (Mochi: required with <see cref="PromptEmbeds"/>); Wan ignores it.
    /// </summary>
    public Tensor? PromptAttentionMask { get; init; }

    /// <summary>The token mask of <see cref="NegativePromptEmbeds"/> (diffusers' <c>negative_prompt_attention_mask=</c>).</summary>
    public Tensor? NegativePromptAttentionMask { get; init; }

    /// <summary>
    /// Precomputed pooled embeddings [B, P] of the prompts (diffusers' <c>pooled_prompt_embeds=</c>; HunyuanVideo's CLIP
    /// output, required there with <see cref="PromptEmbeds"/>).
    /// </summary>
    public Tensor? PooledPromptEmbeds { get; init; }

    /// <summary>Precomputed pooled embeddings of the negative prompt (diffusers' <c>negative_pooled_prompt_embeds=</c>).</summary>
    public Tensor? NegativePooledPromptEmbeds { get; init; }

    /// <summary>
    /// HunyuanVideoPipeline only (diffusers' <c>true_cfg_scale</c>, default 1): above 1, classifier-free guidance with
    /// <see cref="NegativePrompt"/> on top of the embedded guidance that <see cref="GuidanceScale"/> sets there.
    /// </summary>
    public double TrueCfgScale { get; init; } = 1.0;

    /// <summary>Videos generated: the rows of <see cref="PromptEmbeds"/> when given, else one per prompt.</summary>
    public int BatchSize => PromptEmbeds is { } e ? (int)e.shape[0] : Prompts.Count;

    /// <summary>The unconditional branch's prompt, used for every video (diffusers' default: empty).</summary>
    public string NegativePrompt { get; init; } = "";

    public double GuidanceScale { get; init; } = 5.0;

    /// <summary>
    /// Wan2.2 A14B only (diffusers' <c>guidance_scale_2</c>): the guidance scale of the low-noise expert
    /// (<c>transformer_2</c>); null: <see cref="GuidanceScale"/> for both experts.
    /// </summary>
    public double? GuidanceScale2 { get; init; }

    /// <summary>
    /// Wan image-to-video only (diffusers' <c>image=</c> of WanImageToVideoPipeline): the first frame, [1 or B, 3,
    /// Height, Width] float in [0, 1] (taken as already in [−1, 1] when it has negative values, as diffusers' image
    /// processor treats tensors). Required by a WanImageToVideoPipeline folder (Wan2.1 I2V, Wan2.2 I2V-A14B: the image
    /// enters as extra transformer channels and, for Wan2.1, through the image encoder); with Wan2.2 TI2V's
    /// expand_timesteps its VAE latent replaces the first latent frame, which is not denoised.
    /// </summary>
    public Tensor? Image { get; init; }

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

    /// <summary>
    /// Explicit starting latents (diffusers' <c>latents=</c>) in the pipeline's layout and dtype: [B, C, F_latent,
    /// H_latent, W_latent] used as float32 for Wan and Mochi; [B, F_latent, C, H_latent, W_latent] in the model dtype for CogVideoX.
    /// </summary>
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

    /// <summary>The checks every pipeline makes before it starts.</summary>
    internal void Validate()
    {
        if (BatchSize == 0) throw new VDiTLensException("no prompt given: a generation needs at least one prompt (or PromptEmbeds)");
        if (Steps < 1) throw new VDiTLensException($"steps = {Steps}: at least 1 denoising step is needed");
        if (!double.IsFinite(GuidanceScale)) throw new VDiTLensException($"guidance scale {GuidanceScale} is not a finite number");
        if (GuidanceScale2 is { } g2 && !double.IsFinite(g2)) throw new VDiTLensException($"guidance_scale_2 {g2} is not a finite number");
        if (!double.IsFinite(TrueCfgScale)) throw new VDiTLensException($"true_cfg_scale {TrueCfgScale} is not a finite number");
        if (MaxSequenceLength < 1) throw new VDiTLensException($"max_sequence_length = {MaxSequenceLength}: must be at least 1");
    }

    /// <summary>For pipelines without diffusers' <c>true_cfg_scale</c> (all but HunyuanVideo): refuses a request that sets it.</summary>
    internal void RejectTrueCfg(string pipelineClass)
    {
        if (TrueCfgScale != 1.0)
            throw new VDiTLensException($"TrueCfgScale (true_cfg_scale) = {TrueCfgScale} is a HunyuanVideoPipeline option; {pipelineClass} uses GuidanceScale for classifier-free guidance");
    }

    /// <summary>For pipelines without two experts or image conditioning: refuses a request that sets <see cref="GuidanceScale2"/> or <see cref="Image"/>.</summary>
    internal void RejectWan22Options(string pipelineClass)
    {
        if (GuidanceScale2 is not null)
            throw new VDiTLensException($"GuidanceScale2 (guidance_scale_2) = {GuidanceScale2} needs a two-expert pipeline (Wan2.2 A14B: transformer_2 and boundary_ratio); {pipelineClass} has one transformer");
        if (Image is not null)
            throw new VDiTLensException($"Image (first-frame conditioning) needs a Wan image-to-video pipeline (WanImageToVideoPipeline, or Wan2.2 TI2V's expand_timesteps); {pipelineClass} is text-to-video only");
    }

    /// <summary>For pipelines without diffusers' <c>use_dynamic_cfg</c>: refuses a request that asks for it.</summary>
    internal void RejectDynamicCfg(string pipelineClass)
    {
        if (UseDynamicCfg)
            throw new VDiTLensException($"UseDynamicCfg (use_dynamic_cfg, --dynamic-cfg) is a CogVideoXPipeline option; {pipelineClass} has no dynamic guidance");
    }
}
