namespace VDiTLens.Probes;

/// <summary>
/// Which accumulated result the rows of a call feed: the site and, as <see cref="ProbeGrouping"/> keeps them apart,
/// the run, step, branch and expert (null where aggregated over).
/// </summary>
public sealed record ProbeGroup(string Site, int? Run = null, int? Step = null, string? Branch = null, string? Expert = null)
{
    /// <summary>The printed form: the site name, then ".run{n}", ".step{n}", ".{branch}", ".{expert}" as grouped.</summary>
    public override string ToString() =>
        Site + (Run is { } r ? $".run{r}" : "") + (Step is { } s ? $".step{s}" : "") + (Branch is { } b ? $".{b}" : "")
        + (Expert is { } e ? $".{e}" : "");
}

/// <summary>One probe result: a statistic (<c>received_mass</c>, <c>frame_map</c>, …) of a group.</summary>
public sealed record ProbeKey(ProbeGroup Group, string Statistic)
{
    public string Site => Group.Site;
    public int? Run => Group.Run;
    public int? Step => Group.Step;
    public string? Branch => Group.Branch;
    public string? Expert => Group.Expert;

    /// <summary>The printed form, <c>&lt;group&gt;.&lt;statistic&gt;</c> (e.g. <c>blocks.3.attn1.step2.cond.entropy</c>), used in files.</summary>
    public override string ToString() => $"{Group}.{Statistic}";
}

/// <summary>
/// A result as a probe hands it over: the value (mean over <paramref name="Calls"/> accumulated calls; the receiver
/// owns it), or null with the <paramref name="Reason"/> it could not be computed for some calls.
/// </summary>
public sealed record ProbeResult(ProbeKey Key, TorchSharp.torch.Tensor? Value, int Calls, string? Reason = null);
