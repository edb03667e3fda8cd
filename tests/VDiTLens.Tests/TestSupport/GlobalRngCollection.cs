namespace VDiTLens.Tests.TestSupport;

/// <summary>
/// Tests that seed torch's one global generator and expect its draws (random-weight pipelines, <c>CreateRandom</c>):
/// one collection runs them one after another, so none draws from the generator while another relies on its seed.
/// </summary>
[CollectionDefinition(Name)]
public sealed class GlobalRngCollection
{
    public const string Name = "global-rng";
}
