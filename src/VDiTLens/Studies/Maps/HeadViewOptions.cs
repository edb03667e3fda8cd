namespace VDiTLens.Studies.Maps;

/// <summary>
/// Which heads sink, where and when: per (site, step, head) of one generation's conditional branch, the top-1 key's
/// received mass, the sink mass (keys receiving at least <see cref="Ratio"/> × the mean), the entropy and the
/// fraction of keys holding 90 % of a query's mass.
/// </summary>
public sealed record HeadViewOptions
{
    /// <summary>Site names, prefixes ending in '*', or kinds (self, cross, joint).</summary>
    public IReadOnlyList<string> Sites { get; init; } = new[] { "self", "joint" };
    public double Ratio { get; init; } = 10;
    /// <summary>Coverage on every n-th query (exact on those); use 32–64 at full Wan sizes.</summary>
    public int CoverageStride { get; init; } = 1;
    /// <summary>Steps drawn as columns of the picture (every step is in the CSV); empty: up to 6 evenly spaced steps.</summary>
    public IReadOnlyList<int> PictureSteps { get; init; } = Array.Empty<int>();

    public void Validate()
    {
        if (!(Ratio > 1)) throw new VDiTLensException($"head view sink ratio {Ratio}: must be > 1");
        if (CoverageStride < 1) throw new VDiTLensException($"head view coverage stride {CoverageStride}: must be ≥ 1");
        if (Sites.Count == 0) throw new VDiTLensException("head view sites are empty: name sites or kinds (self, cross, joint)");
    }
}

/// <summary>One head at one site and step.</summary>
public sealed record HeadViewRow(string Site, int Layer, string Kind, int Step, int Head,
    double Top1Mass, double SinkMass, double Entropy, double Coverage90);
