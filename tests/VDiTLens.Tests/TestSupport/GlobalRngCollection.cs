namespace VDiTLens.Tests.TestSupport;

/// <summary>
/// Tests that seed torch's process-wide generator and compare what it draws: every module construction in a
/// concurrently running test (each pipeline Load builds modules before reading weights) draws from the same generator,
/// so these run alone, after the parallel tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalRngCollection
{
    public const string Name = "global-rng";
}
