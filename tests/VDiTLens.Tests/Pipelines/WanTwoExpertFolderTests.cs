using System.Text.Json.Nodes;
using VDiTLens.Pipelines;
using VDiTLens.Runtime;

namespace VDiTLens.Tests.Pipelines;

/// <summary>Wan2.2 fields of model_index.json that do not fit together fail with the field and the fix.</summary>
public sealed class WanTwoExpertFolderTests
{
    private static VDiTLensException LoadFails(string path) =>
        Assert.Throws<VDiTLensException>(() => WanPipelineFolder.Open(path));

    [Fact]
    public void Reads_the_two_expert_layout()
    {
        using var p = new TwoExpertPipeline();
        var folder = WanPipelineFolder.Open(p.Path);
        Assert.Equal(0.875, folder.BoundaryRatio);
        Assert.NotNull(folder.Transformer2);
        Assert.Equal(1000, folder.NumTrainTimesteps);
        Assert.False(folder.ExpandTimesteps);
    }

    [Fact]
    public void Boundary_ratio_without_a_second_expert_is_refused()
    {
        using var p = new TempPipeline();
        p.EditJson("model_index.json", j => j["boundary_ratio"] = 0.875);
        var e = LoadFails(p.Path);
        Assert.Contains("'boundary_ratio'", e.Message);
        Assert.Contains("'transformer_2'", e.Message);
    }

    [Fact]
    public void A_second_expert_without_boundary_ratio_is_refused()
    {
        using var p = new TwoExpertPipeline();
        p.Copy.EditJson("model_index.json", j => j["boundary_ratio"] = null);
        var e = LoadFails(p.Path);
        Assert.Contains("'boundary_ratio' is null", e.Message);
    }

    [Fact]
    public void Experts_of_different_layouts_are_refused()
    {
        using var p = new TwoExpertPipeline();
        p.Copy.EditJson("transformer_2/config.json", j => j["num_layers"] = 3);
        var e = LoadFails(p.Path);
        Assert.Contains("transformer_2/config.json num_layers = 3", e.Message);
    }

    [Fact]
    public void Boundary_ratio_outside_0_1_is_refused()
    {
        using var p = new TwoExpertPipeline(boundaryRatio: 875);
        var e = LoadFails(p.Path);
        Assert.Contains("'boundary_ratio' must be a number in [0, 1]", e.Message);
    }
}
