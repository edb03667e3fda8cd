using VDiTLens.Statistics;

namespace VDiTLens.Studies.Sinks.Statistics;

/// <summary>One head of one site at one step of one run: the per-(run, step) detection row.</summary>
public sealed record StepHeadRow(int Run, string Prompt, long Seed, int Step, string Site, string Kind, int Head, int ValidKeys,
    int TopPosition, string TopLocation, double TopMass, double TopKMass, double MedianRatio, double MeanKeyRatio,
    double FirstFrameMass, double ClusterMass, double NormalisedEntropy);

/// <summary>A key set of a site (its members may differ per prompt, e.g. the padding rows): mass over all observations,
/// its spread over (run, step), and a CI over runs.</summary>
/// <param name="Size">Median set size over observations.</param>
/// <param name="UniformShare">Mean of |S| / valid keys.</param>
/// <param name="MeanMass">Set mass averaged over heads, steps and runs.</param>
/// <param name="PerStepMaxHead">Over (run, step): the largest set mass of any head.</param>
/// <param name="RunMean">Over runs: the run's set mass averaged over steps and heads.</param>
public sealed record SetStatistics(string Name, double Size, double UniformShare, double MeanMass, Distribution PerStepMaxHead, Estimate RunMean)
{
    /// <summary>Mean mass ÷ uniform share (1: no preference); for a fixed share independent of length.</summary>
    public double MeanOverUniform => UniformShare > 0 ? MeanMass / UniformShare : double.NaN;
}

/// <summary>
/// The sink statistics of one site. "Top mass" is the share of a head's attention on its strongest key (valid keys,
/// video queries); "max head" takes the largest over heads.
/// </summary>
/// <param name="Aggregate">Per head, on the mass averaged over runs and steps (what the old verdict used).</param>
/// <param name="PerStepTopMass">Max-head top mass at every (run, step), before averaging.</param>
/// <param name="PerStepMeanKeyRatio">The old ratio to the mean key (= top mass × valid keys) at every (run, step).</param>
/// <param name="RunTopMass">Max-head top mass per run (mean over its steps), with a bootstrap CI over runs.</param>
/// <param name="SiteMaxShare">On the aggregate: the largest share of heads above ε on one key (not Gu's Sink^ε).</param>
/// <param name="PerStepSiteMaxShare">The same at every (run, step).</param>
/// <param name="Identity">Head-averaged top-1 key at every (run, step): how many distinct ones, the modal one.</param>
/// <param name="NormalisedEntropy">Entropy ÷ ln(valid keys), mean over heads and steps per run, CI over runs.</param>
public sealed record SiteStatistics(
    string Site, int Layer, string Kind, int ValidKeys,
    IReadOnlyList<HeadMass> Aggregate, Distribution PerStepTopMass, Distribution PerStepMeanKeyRatio, Estimate RunTopMass,
    double SiteMaxShare, string SiteMaxShareLocation, Distribution PerStepSiteMaxShare,
    TopSinkIdentity Identity, IReadOnlyList<TopSinkIdentity> HeadIdentity,
    IReadOnlyList<SetStatistics> Sets, Estimate NormalisedEntropy)
{
    public HeadMass StrongestHead => Aggregate.OrderByDescending(h => h.TopMass).First();
}

/// <summary>Gu et al.'s model-level Sink^ε of one key over a group of sites (self/joint, or cross).</summary>
public sealed record GuSinkScore(string Group, int Key, string KeyLocation, double Epsilon, int Layers, double Aggregate, Distribution PerStep, Estimate RunMean);

public sealed record SinkStatisticsResult(IReadOnlyList<SiteStatistics> Sites, IReadOnlyList<GuSinkScore> ModelLevel, IReadOnlyList<StepHeadRow> Rows, int Runs, SinkStatisticsOptions Options);
