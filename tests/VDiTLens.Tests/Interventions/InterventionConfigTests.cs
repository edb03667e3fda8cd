using VDiTLens.Attention;
using VDiTLens.Interventions;
using VDiTLens.Interventions.Config;
using VDiTLens.Interventions.Sparsity;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Interventions;

public sealed class InterventionConfigTests
{
    [Fact]
    public void The_documented_example_builds_scoped_interventions()
    {
        var built = InterventionFactory.FromJson("""
            [{"type":"bottom_k","sparsity":0.3,"sites":["blocks.2*"],"heads":[0,1],"steps":[0,10],"keep_sinks":[0,5]},
             {"type":"temperature","tau":1.5,"sites":["self"]}]
            """);
        var sparse = Assert.IsType<SparseAttention>(built[0]);
        var bottomK = Assert.IsType<BottomKSparsifier>(sparse.Sparsifier);
        Assert.Equal(0.3, bottomK.Sparsity);
        Assert.Equal(new long[] { 0, 5 }, bottomK.KeepSinks);
        Assert.Equal(new[] { "blocks.2*" }, sparse.Scope.Sites);
        Assert.Equal(new long[] { 0, 1 }, sparse.Scope.Heads);
        Assert.Equal(IndexSet.Between(0, 10), sparse.Scope.Steps);
        var temperature = Assert.IsType<Temperature>(built[1]);
        Assert.Equal(new[] { 1.5 }, temperature.Taus);
        Assert.Equal(new[] { "self" }, temperature.Scope.Sites);
    }

    [Fact]
    public void Every_type_builds()
    {
        var built = InterventionFactory.FromJson("""
            [{"type":"top_k","k":16,"memory_mb":8},
             {"type":"threshold","threshold":0.01,"branches":["cond"]},
             {"type":"block_topk","sparsity":0.5,"block_size":32,"query_block_size":96,"steps":[5,null]},
             {"type":"sliding_tile","tile":[2,4,4],"window":[3,3,3],"keep_sinks":[0]},
             {"type":"spatial_temporal","samples":16,"frame_radius":1},
             {"type":"temperature","tau":[0.5,2],"heads":[3,1]},
             {"type":"sink_ablation","positions":[0],"positions_by_site":{"blocks.0.attn1":[1,2]},"mode":"zero_values"},
             {"type":"head_ablation","heads":[4]},
             {"type":"map_transfer","pairs":[[1,0]],"sites":["self"]}]
            """);
        Assert.Equal(new[] { typeof(SparseAttention), typeof(SparseAttention), typeof(BlockTopKAttention), typeof(SparseAttention), typeof(SparseAttention),
            typeof(Temperature), typeof(SinkAblation), typeof(HeadAblation), typeof(MapTransfer) }, built.Select(b => b.GetType()));
        var top = (SparseAttention)built[0];
        Assert.Equal(8L << 20, top.MemoryBudgetBytes);
        Assert.Equal(16, ((TopKSparsifier)top.Sparsifier).Count);
        var block = (BlockTopKAttention)built[2];
        Assert.Equal(IndexSet.Between(5, null), block.Scope.Steps);
        Assert.Equal((32, 96, 0.5), (block.Selection.KeyBlockSize, block.Selection.QueryBlockSize, block.Selection.Sparsity));
        Assert.Equal((2, 4, 4), ((SlidingTileSparsifier)((SparseAttention)built[3]).Sparsifier).Tile);
        var sinks = (SinkAblation)built[6];
        Assert.Equal(SinkAblationMode.ZeroValues, sinks.Mode);
        Assert.Equal(new long[] { 1, 2 }, sinks.Positions.BySite["blocks.0.attn1"]);
        Assert.Equal(new[] { (1L, 0L) }, ((MapTransfer)built[8]).Pairs);
    }

    [Fact]
    public void A_built_config_runs_through_the_seam()
    {
        var c = new InterventionCase();
        var built = InterventionFactory.FromJson("""[{"type":"bottom_k","sparsity":0.3,"sites":["joint"]}]""");
        var expected = c.Reference().Attend(ReferenceRules.BottomK(0.3));
        Fixtures.AssertClose(c.Run(built), expected, 1e-13, "bottom_k from config");
    }

    [Theory]
    [InlineData("""{"type":"top_k"}""", "must be a JSON list")]
    [InlineData("""[{"type":"top_k","k":4,}""", "not valid JSON")]
    [InlineData("""[{"sparsity":0.3}]""", "intervention #0: field 'type' is required")]
    [InlineData("""[{"type":"bottom_k","sparsity":0.3},{"type":"bottom_kk","sparsity":0.3}]""", "intervention #1 (bottom_kk): field 'type' is 'bottom_kk', not one of")]
    [InlineData("""[{"type":"bottom_k"}]""", "intervention #0 (bottom_k): field 'sparsity' is required")]
    [InlineData("""[{"type":"bottom_k","sparsity":"0.3"}]""", "field 'sparsity' must be a number")]
    [InlineData("""[{"type":"bottom_k","sparsity":1.0}]""", "intervention #0 (bottom_k): 'sparsity' must lie in [0, 1)")]
    [InlineData("""[{"type":"bottom_k","sparsity":0.3,"sparsty":0.4}]""", "field 'sparsty' is not a field of this type")]
    [InlineData("""[{"type":"bottom_k","sparsity":0.3,"heads":[0,1.5]}]""", "field 'heads' must be a list of integers")]
    [InlineData("""[{"type":"bottom_k","sparsity":0.3,"heads":[2,2]}]""", "field 'heads' lists a head twice")]
    [InlineData("""[{"type":"bottom_k","sparsity":0.3,"steps":[10,2]}]""", "field 'steps' has min 10 above max 2")]
    [InlineData("""[{"type":"bottom_k","sparsity":0.3,"steps":5}]""", "field 'steps' must be [min, max]")]
    [InlineData("""[{"type":"bottom_k","sparsity":0.3,"sites":"self"}]""", "field 'sites' must be a list of strings")]
    [InlineData("""[{"type":"sliding_tile","tile":[1,2],"window":[1,1,1]}]""", "field 'tile' must be three positive integers")]
    [InlineData("""[{"type":"temperature","tau":[1,2],"heads":[0]}]""", "intervention #0 (temperature): temperature has 2 'tau' values but 1 'heads'")]
    [InlineData("""[{"type":"temperature"}]""", "field 'tau' is required")]
    [InlineData("""[{"type":"sink_ablation","positions":[0],"mode":"drop"}]""", "field 'mode' is 'drop'")]
    [InlineData("""[{"type":"sink_ablation"}]""", "field 'positions' is required")]
    [InlineData("""[{"type":"head_ablation"}]""", "head_ablation needs a 'heads' list")]
    [InlineData("""[{"type":"map_transfer","pairs":[[1]]}]""", "field 'pairs' must be a list of [target, source] integer pairs")]
    [InlineData("""[{"type":"top_k","k":4,"memory_mb":0}]""", "field 'memory_mb' must be positive")]
    public void Errors_name_the_entry_and_field(string json, string expected)
    {
        var e = Assert.Throws<VDiTLensException>(() => InterventionFactory.FromJson(json));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        var e = Assert.Throws<VDiTLensException>(() => InterventionFactory.FromFile("/nonexistent/interventions.json"));
        Assert.Contains("/nonexistent/interventions.json", e.Message);
    }
}
