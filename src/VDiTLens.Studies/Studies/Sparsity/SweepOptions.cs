namespace VDiTLens.Studies.Sparsity;

/// <summary>What the sensitivity sweep runs: methods × levels × modes over the self-attention layers.</summary>
public sealed record SweepOptions
{
    public IReadOnlyList<SweepMethod> Methods { get; init; } = new[] { SweepMethod.Default };
    public IReadOnlyList<double> Levels { get; init; } = new[] { 0.1, 0.3, 0.5, 0.7, 0.9 };
    public IReadOnlyList<string> Modes { get; init; } = new[] { SweepMode.Single, SweepMode.LeaveOneOut };
    /// <summary>Site patterns (exact, trailing '*', or kind) restricting the layers swept in single and leave-one-out modes; empty = all.</summary>
    public IReadOnlyList<string> Sites { get; init; } = Array.Empty<string>();
    /// <summary>Numbers K of most sensitive layers kept dense in uniform mode (0 = every layer sparsified).</summary>
    public IReadOnlyList<int> KeepDense { get; init; } = new[] { 0, 1, 2 };
    /// <summary>Stop after computing this many new cells (null = run to the end); finished cells are kept.</summary>
    public int? MaxNewCells { get; init; }
    /// <summary>Only the dense run and its coverage profile, no cells.</summary>
    public bool ProfileOnly { get; init; }
    public int CoverageStride { get; init; } = 1;
    /// <summary>Discard a previous sweep in the folder made with other settings instead of refusing to mix them.</summary>
    public bool Fresh { get; init; }
    /// <summary>The share of the cells this process computes (<see cref="Scale.Shard.All"/>: every cell); shards share one folder.</summary>
    public Scale.Shard Shard { get; init; } = Scale.Shard.All;

    /// <summary>The paper's experiment: per-layer bottom-k sensitivity, then uniform bottom-k with the K most sensitive layers dense.</summary>
    public static SweepOptions Paper => new()
    {
        Methods = new[] { SweepMethod.Default },
        Modes = new[] { SweepMode.Single, SweepMode.Uniform },
        KeepDense = new[] { 0, 1, 2 },
    };

    public void Validate()
    {
        if (Methods.Count == 0) throw new VDiTLensException("Methods: the sweep has no method");
        if (Levels.Count == 0) throw new VDiTLensException("Levels: the list is empty");
        foreach (var m in Modes)
            if (!SweepMode.All.Contains(m)) throw new VDiTLensException($"Modes: unknown mode '{m}' (use {string.Join(", ", SweepMode.All)})");
        if (Levels.Distinct().Count() != Levels.Count) throw new VDiTLensException("Levels: a level is listed twice");
        if (KeepDense.Any(k => k < 0)) throw new VDiTLensException("KeepDense: values must be 0 or more");
        if (Modes.Contains(SweepMode.Uniform) && KeepDense.Any(k => k > 0) && !Modes.Contains(SweepMode.Single))
            throw new VDiTLensException("uniform mode with KeepDense K > 0 needs the single-layer sweep to rank layers; add 'single' to Modes");
        if (MaxNewCells is < 0) throw new VDiTLensException("MaxNewCells: must be 0 or more");
        Shard.Validate();
        if (Fresh && !Shard.IsAll) throw new VDiTLensException($"Fresh with shard {Shard}: one shard cannot discard the folder the others write to; clear it before starting the shards");
    }
}
