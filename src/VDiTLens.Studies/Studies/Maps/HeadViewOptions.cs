namespace VDiTLens.Studies.Maps;

/// <summary>
/// Which heads sink, where and when: per (site, step, head) of one generation's conditional branch, the top-1 key's
/// received mass α (mean over queries of the attention a key receives), the sink mass (the total α of keys with
/// α &gt; <see cref="Epsilon"/>, Gu et al.'s threshold), the entropy (in nats and divided by ln of the keys) and the
/// fraction of keys holding 90 % of a query's mass. All are shares, so they compare across sequence lengths.
/// </summary>
public sealed record HeadViewOptions
{
    /// <summary>Site names, prefixes ending in '*', or kinds (self, cross, joint).</summary>
    public IReadOnlyList<string> Sites { get; init; } = new[] { "self", "joint" };
    /// <summary>Gu et al.'s ε ("When Attention Sink Emerges in Language Models", ICLR 2025): a head sinks on a key receiving more.</summary>
    public double Epsilon { get; init; } = 0.3;
    /// <summary>Coverage on every n-th query (exact on those); use 32–64 at full Wan sizes.</summary>
    public int CoverageStride { get; init; } = 1;
    /// <summary>Steps drawn as columns of the picture (every step is in the CSV); empty: up to 6 evenly spaced steps.</summary>
    public IReadOnlyList<int> PictureSteps { get; init; } = Array.Empty<int>();

    public void Validate()
    {
        if (!(Epsilon > 0 && Epsilon < 1)) throw new VDiTLensException($"head view sink threshold epsilon {Epsilon}: must be in (0, 1)");
        if (CoverageStride < 1) throw new VDiTLensException($"head view coverage stride {CoverageStride}: must be ≥ 1");
        if (Sites.Count == 0) throw new VDiTLensException("head view sites are empty: name sites or kinds (self, cross, joint)");
    }
}

/// <summary>One head at one site and step.</summary>
public sealed record HeadViewRow(string Site, int Layer, string Kind, int Step, int Head,
    double Top1Mass, double SinkMass, double Entropy, double NormalisedEntropy, double Coverage90);
