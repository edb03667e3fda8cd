namespace VDiTLens.Attention;

/// <summary>Where a model is in a generation; the pipeline updates it, every attention call sees it.</summary>
public sealed class AttentionRunState
{
    /// <summary>Denoising step index, or -1 outside a denoising loop (a single forward pass).</summary>
    public int Step { get; set; } = -1;
    public double Timestep { get; set; } = double.NaN;
    /// <summary>Guidance branch of the current forward: "cond", "uncond", or a study's own label ("source", "target").</summary>
    public string Branch { get; set; } = "cond";
    /// <summary>Index of the prompt set / run being processed, for aggregation across prompts.</summary>
    public int Run { get; set; }
}
