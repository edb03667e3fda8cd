namespace VDiTLens.Pipelines;

/// <summary>The <c>__call__</c> defaults of a diffusers pipeline, for callers (the CLI) that leave a size unset.</summary>
public sealed record GenerationDefaults(double GuidanceScale, int Steps, int Height, int Width, int Frames, int MaxSequenceLength)
{
    /// <summary>WanPipeline: guidance 5, 50 steps, 480 × 832, 81 frames, 512 tokens.</summary>
    public static readonly GenerationDefaults Wan = new(5.0, 50, 480, 832, 81, 512);

    /// <summary>MochiPipeline: guidance 4.5, 64 steps, 480 × 848, 19 frames, 256 tokens.</summary>
    public static readonly GenerationDefaults Mochi = new(4.5, 64, 480, 848, 19, 256);

    /// <summary>HunyuanVideoPipeline: embedded guidance 6, 50 steps, 720 × 1280, 129 frames, 256 tokens.</summary>
    public static readonly GenerationDefaults HunyuanVideo = new(6.0, 50, 720, 1280, 129, 256);

    /// <summary>
    /// CogVideoXPipeline: guidance 6, 50 steps, 226 tokens; height, width and frames from the transformer config
    /// (sample_height · spatial scale, sample_width · spatial scale, sample_frames: 480 × 720, 49 frames for CogVideoX-2b/5b).
    /// </summary>
    public static GenerationDefaults CogVideoX(int height, int width, int frames) => new(6.0, 50, height, width, frames, 226);
}
