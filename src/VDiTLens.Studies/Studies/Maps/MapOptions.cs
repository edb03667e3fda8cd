using static TorchSharp.torch;

namespace VDiTLens.Studies.Maps;

/// <summary>
/// One attention map of a generation: which call (site, denoising step, guidance branch, batch row), which head
/// (null: the mean over heads of the probabilities), which queries and keys, and the pooling factor (mean over blocks
/// of <see cref="Pool"/> consecutive selected queries × keys; 1 = full token resolution).
/// </summary>
public sealed record MapOptions
{
    public required string Site { get; init; }
    public int Step { get; init; }
    /// <summary>"cond" or "uncond" (the study runs the two branches as separate calls).</summary>
    public string Branch { get; init; } = "cond";
    public int BatchRow { get; init; }
    public int? Head { get; init; }
    public TokenSelection Queries { get; init; } = TokenSelection.All;
    public TokenSelection Keys { get; init; } = TokenSelection.All;
    public int Pool { get; init; } = 1;
    /// <summary>dtype of the written map (float16 halves the file; float32 for exact comparisons).</summary>
    public ScalarType OutputType { get; init; } = ScalarType.Float16;
    /// <summary>Memory for one block of probability rows and its temporaries.</summary>
    public long MemoryBudgetBytes { get; init; } = 256L << 20;
    /// <summary>Longer side of the picture in map cells (larger maps are mean-pooled further for the picture only).</summary>
    public int PictureSize { get; init; } = 1024;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Site)) throw new VDiTLensException("map site is empty: name one attention site (e.g. blocks.0.attn1)");
        if (Step < 0) throw new VDiTLensException($"map step {Step}: must be ≥ 0");
        if (Branch is not ("cond" or "uncond")) throw new VDiTLensException($"map branch '{Branch}': use cond or uncond");
        if (Pool < 1) throw new VDiTLensException($"map pool factor {Pool}: must be ≥ 1");
        if (Head is < 0) throw new VDiTLensException($"map head {Head}: must be ≥ 0");
        if (BatchRow < 0) throw new VDiTLensException($"map batch row {BatchRow}: must be ≥ 0");
        if (OutputType is not (ScalarType.Float16 or ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float64))
            throw new VDiTLensException($"map output dtype {OutputType}: use float16, bfloat16, float32 or float64");
        if (PictureSize < 16) throw new VDiTLensException($"map picture size {PictureSize}: must be ≥ 16");
    }
}
