namespace VDiTLens.Attention;

/// <summary>Where a model is in a generation; the pipeline updates it, every attention call sees it.</summary>
public sealed class AttentionRunState
{
    /// <summary>Denoising step index, or -1 outside a denoising loop (a single forward pass).</summary>
    public int Step { get; set; } = -1;
    public double Timestep { get; set; } = double.NaN;
    /// <summary>Guidance branch of the current forward: "cond", "uncond", or a study's own label ("source", "target").</summary>
    public string Branch { get; set; } = "cond";
    /// <summary>
    /// The branch of each batch row, or null when unknown (a plain forward: every row is <see cref="Branch"/>).
    /// Pipelines that batch cond and uncond in one call set <see cref="Branch"/> = "cfg" and this to [cond..., uncond...].
    /// </summary>
    public BatchLayout? Batch { get; set; }
    /// <summary>
    /// The denoiser that runs the current forward, by its pipeline component name: <see cref="MainExpert"/>
    /// ("transformer": every single-transformer model, and the high-noise expert of Wan2.2 A14B) or "transformer_2" (the
    /// A14B low-noise expert).
    /// </summary>
    public string Expert { get; set; } = MainExpert;
    public const string MainExpert = "transformer";
    /// <summary>Index of the prompt set / run being processed, for aggregation across prompts.</summary>
    public int Run { get; set; }

    /// <summary>Back to the state of a single forward outside any loop.</summary>
    public void Reset()
    {
        Step = -1;
        Timestep = double.NaN;
        Branch = "cond";
        Batch = null;
        Expert = MainExpert;
    }
}
