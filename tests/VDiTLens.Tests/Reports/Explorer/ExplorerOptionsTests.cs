using VDiTLens.Attention;
using VDiTLens.Reports.Explorer;

namespace VDiTLens.Tests.Reports.Explorer;

public sealed class ExplorerOptionsTests
{
    [Fact]
    public void Default_steps_are_the_first_and_the_last_and_chosen_steps_are_checked()
    {
        Assert.Equal(new[] { 0, 19 }, new ExplorerOptions().ResolveSteps(20));
        Assert.Equal(new[] { 0 }, new ExplorerOptions().ResolveSteps(1));
        Assert.Equal(new[] { 3, 5 }, new ExplorerOptions { Steps = new[] { 5, 3, 5 } }.ResolveSteps(20));
        var e = Assert.Throws<VDiTLensException>(() => new ExplorerOptions { Steps = new[] { 25 } }.ResolveSteps(20));
        Assert.Contains("0..19", e.Message);
    }

    [Fact]
    public void Queries_are_a_centred_grid_in_every_frame()
    {
        // 2 frames of 8 × 8 patches, 2 × 2 queries per frame: rows and columns 2 and 6.
        var grid = new VideoGrid(2, 8, 8);
        Assert.Equal(new long[] { 18, 22, 50, 54, 82, 86, 114, 118 }, new ExplorerOptions { Queries = 2 }.QueryPositions(TokenLayout.Video(grid)));
        Assert.Equal((1, 2, 6), new ExplorerOptions { Queries = 2 }.QueryCells(grid)[5]);
        Assert.Throws<VDiTLensException>(() => new ExplorerOptions { Queries = 0 }.QueryPositions(TokenLayout.Video(grid)));
        Assert.Throws<VDiTLensException>(() => new ExplorerOptions().QueryPositions(TokenLayout.Text(4)));
    }

    [Fact]
    public void Queries_in_a_joint_sequence_sit_after_the_text_when_it_comes_first_and_at_the_start_when_it_comes_last()
    {
        var grid = new VideoGrid(2, 8, 8);
        var options = new ExplorerOptions { Queries = 2 };
        long[] plain = { 18, 22, 50, 54, 82, 86, 114, 118 };
        Assert.Equal(plain.Select(p => p + 5), options.QueryPositions(TokenLayout.Concat(null, TokenLayout.Text(5), TokenLayout.Video(grid))));
        Assert.Equal(plain, options.QueryPositions(TokenLayout.Concat(null, TokenLayout.Video(grid), TokenLayout.Text(5))));
    }

    [Fact]
    public void Default_sites_are_self_joint_and_cross_attention_and_chosen_sites_replace_them()
    {
        Assert.Equal(new[] { "self", "joint", "cross" }, new ExplorerOptions().SitePatterns);
        Assert.Equal(new[] { "blocks.0.attn1" }, new ExplorerOptions { Sites = new[] { "blocks.0.attn1" } }.SitePatterns);
    }
}
