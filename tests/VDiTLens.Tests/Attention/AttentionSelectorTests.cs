using VDiTLens.Attention;
using VDiTLens.Interventions;
using VDiTLens.Tests.Interventions;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Attention;

public sealed class AttentionSelectorTests
{
    private static AttentionCall Call(string site, AttentionKind kind, int step, string branch, int layer = 0, BatchLayout? batch = null)
    {
        var state = new AttentionRunState { Step = step, Branch = branch, Batch = batch };
        var layout = TokenLayout.Text(4);
        return new AttentionCall(new AttentionSite(site, layer, kind, "x"), state, 1.0, layout, layout);
    }

    [Theory]
    [InlineData("blocks.2.attn1", AttentionKind.Self, 5, "cond", true)]
    [InlineData("blocks.2.attn1", AttentionKind.Self, 10, "cond", true)]
    [InlineData("blocks.2.attn1", AttentionKind.Self, 11, "cond", false)]
    [InlineData("blocks.2.attn1", AttentionKind.Self, 1, "cond", false)]
    [InlineData("blocks.2.attn1", AttentionKind.Self, 5, "uncond", false)]
    [InlineData("blocks.3.attn1", AttentionKind.Self, 5, "cond", false)]
    [InlineData("blocks.21.attn2", AttentionKind.Cross, 5, "cond", true)]
    public void Selector_matches_sites_steps_and_branches(string site, AttentionKind kind, int step, string branch, bool accepted)
    {
        var selector = new AttentionSelector { Sites = new[] { "blocks.2*", "cross" }, Steps = 2..11, Branches = new[] { "cond" } };
        Assert.Equal(accepted, selector.Accepts(Call(site, kind, step, branch)));
    }

    [Theory]
    [InlineData(9, false)]
    [InlineData(10, true)]
    [InlineData(20, true)]
    [InlineData(21, false)]
    [InlineData(25, true)]
    public void Layer_lists_and_ranges_compose_with_kinds(int layer, bool accepted)
    {
        var parsed = AttentionSelector.Parse("self", "10-20,25", null, null, null);
        Assert.Equal(accepted, parsed.Accepts(Call($"blocks.{layer}.attn1", AttentionKind.Self, 0, "cond", layer)));
        Assert.False(parsed.Accepts(Call($"blocks.{layer}.attn2", AttentionKind.Cross, 0, "cond", layer)));
        var typed = new AttentionSelector { Sites = new[] { "self" }, Layers = 10..21 };
        Assert.Equal(accepted && layer != 25, typed.Accepts(Call($"blocks.{layer}.attn1", AttentionKind.Self, 0, "cond", layer)));
    }

    [Theory]
    [InlineData("10-20,25", "10-20,25")]
    [InlineData(" 3 , 7- ", "3,7-")]
    [InlineData("", "all")]
    public void Index_sets_parse_lists_and_inclusive_ranges(string text, string printed) =>
        Assert.Equal(printed, IndexSet.Parse(text, "layers").ToString());

    [Theory]
    [InlineData("20-10")]
    [InlineData("a")]
    [InlineData("-3")]
    public void Bad_index_sets_name_the_field(string text)
    {
        var error = Assert.Throws<VDiTLensException>(() => IndexSet.Parse(text, "layers"));
        Assert.StartsWith("layers:", error.Message);
    }

    [Fact]
    public void Branches_select_rows_of_a_batched_guidance_call()
    {
        var batched = Call("blocks.0.attn1", AttentionKind.Self, 0, "cfg", batch: BatchLayout.Guided(2));
        var cond = new AttentionSelector { Branches = new[] { "cond" } };
        Assert.True(cond.Accepts(batched));
        Assert.Equal(new long[] { 0, 1 }, cond.RowIndices(batched, 4));
        Assert.Equal(new long[] { 2, 3 }, new AttentionSelector { Branches = new[] { "uncond" } }.RowIndices(batched, 4));
        Assert.Null(new AttentionSelector { Branches = new[] { "cond", "uncond" } }.RowIndices(batched, 4));
        Assert.Null(AttentionSelector.All.RowIndices(batched, 4));
        Assert.False(new AttentionSelector { Branches = new[] { "source" } }.Accepts(batched));
        Assert.Throws<VDiTLensException>(() => cond.RowIndices(batched, 3));
    }

    [Fact]
    public void Out_of_scope_calls_run_dense_through_the_seam()
    {
        var c = new InterventionCase();
        var temperature = new Temperature(2.0, new AttentionSelector { Steps = IndexSet.Between(0, 3) });
        var dense = c.Dense();
        Assert.True(c.Run(temperature, step: 4).eq(dense).all().item<bool>());
        Assert.True(Fixtures.RelativeL2(c.Run(temperature, step: 3), dense) > 1e-2);
    }

    [Fact]
    public void Heads_are_checked_against_the_call()
    {
        var c = new InterventionCase();
        Assert.Throws<VDiTLensException>(() => c.Run(new HeadAblation(new AttentionSelector { Heads = new long[] { 3 } })));
        Assert.Throws<VDiTLensException>(() => c.Run(new HeadAblation(new AttentionSelector { Heads = new long[] { 1, 1 } })));
    }
}
