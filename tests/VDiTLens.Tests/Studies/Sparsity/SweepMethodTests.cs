using VDiTLens.Interventions.Sparsity;
using VDiTLens.Studies.Sparsity;

namespace VDiTLens.Tests.Studies.Sparsity;

/// <summary>Sweep methods: factory configs with the level written into their level field and the cell's sites.</summary>
public sealed class SweepMethodTests
{
    [Fact]
    public void Level_goes_into_the_default_level_field_and_sites_into_the_scope()
    {
        var method = SweepMethod.Parse("{\"type\": \"block_topk\", \"block_size\": 4, \"name\": \"b4\"}").Single();
        Assert.Equal(("b4", "sparsity"), (method.Name, method.LevelField));
        var built = Assert.IsType<BlockTopKAttention>(method.Build(0.7, new[] { "blocks.1.attn1", "blocks.3.attn1" }).Single());
        Assert.Equal((4, 4, 0.7), (built.Selection.KeyBlockSize, built.Selection.QueryBlockSize, built.Selection.Sparsity));
        Assert.Equal(new[] { "blocks.1.attn1", "blocks.3.attn1" }, built.Scope.Sites);
    }

    [Fact]
    public void Top_k_levels_are_whole_key_counts()
    {
        var built = Assert.IsType<SparseAttention>(SweepMethod.FromType("top_k").Build(12, new[] { "s" }).Single());
        Assert.Equal(12, Assert.IsType<TopKSparsifier>(built.Sparsifier).Count);
    }

    [Fact]
    public void Keep_blocks_levels_are_whole_block_counts()
    {
        var method = SweepMethod.Parse("{\"type\": \"block_topk\", \"level_field\": \"keep_blocks\", \"query_block_size\": 64}").Single();
        var built = Assert.IsType<BlockTopKAttention>(method.Build(3.4, new[] { "s" }).Single());
        Assert.Equal((3L, 64, 64), (built.Selection.KeepBlocks!.Value, built.Selection.QueryBlockSize, built.Selection.KeyBlockSize));
        Assert.Null(built.Selection.Sparsity);
    }

    [Theory]
    [InlineData("{\"type\": \"bottom_k\", \"sites\": [\"blocks.0.attn1\"]}", "sites")]
    [InlineData("{\"type\": \"head_ablation\", \"heads\": [0]}", "level_field")]
    [InlineData("{\"type\": \"bottom_kk\"}", "bottom_kk")]
    [InlineData("[{\"type\": \"bottom_k\"}, {\"type\": \"bottom_k\"}]", "name")]
    public void Bad_configs_name_the_field_to_fix(string json, string named)
    {
        var e = Assert.Throws<VDiTLensException>(() => SweepMethod.Parse(json));
        Assert.Contains(named, e.Message);
    }
}
