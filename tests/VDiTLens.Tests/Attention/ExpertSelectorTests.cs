using VDiTLens.Attention;
using VDiTLens.Interventions.Config;

namespace VDiTLens.Tests.Attention;

public sealed class ExpertSelectorTests
{
    [Fact]
    public void Parse_reads_experts_and_refuses_unknown_names()
    {
        Assert.Equal(new[] { "transformer_2" }, AttentionSelector.Parse(null, null, null, null, null, "transformer_2").Experts);
        var e = Assert.Throws<VDiTLensException>(() => AttentionSelector.Parse(null, null, null, null, null, "low_noise"));
        Assert.Contains("'low_noise' is not an expert", e.Message);
    }

    [Fact]
    public void Intervention_config_scopes_by_expert()
    {
        var specs = InterventionConfig.Parse("""[{"type":"temperature","tau":1.5,"experts":["transformer"]}]""", "test");
        Assert.Equal(new[] { "transformer" }, specs[0].Scope.Experts);
    }
}
