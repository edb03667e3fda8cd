using VDiTLens.Attention;
using VDiTLens.Interventions;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Interventions;

public sealed class InterventionScopeTests
{
    private static AttentionCall Call(string site, AttentionKind kind, int step, string branch)
    {
        var state = new AttentionRunState { Step = step, Branch = branch };
        var layout = TokenLayout.Text(4);
        return new AttentionCall(new AttentionSite(site, 0, kind, "x"), state, 1.0, layout, layout);
    }

    [Theory]
    [InlineData("blocks.2.attn1", AttentionKind.Self, 5, "cond", true)]
    [InlineData("blocks.2.attn1", AttentionKind.Self, 10, "cond", true)]
    [InlineData("blocks.2.attn1", AttentionKind.Self, 11, "cond", false)]
    [InlineData("blocks.2.attn1", AttentionKind.Self, 1, "cond", false)]
    [InlineData("blocks.2.attn1", AttentionKind.Self, 5, "uncond", false)]
    [InlineData("blocks.3.attn1", AttentionKind.Self, 5, "cond", false)]
    [InlineData("blocks.21.attn2", AttentionKind.Cross, 5, "cond", true)]
    public void Scope_matches_sites_steps_and_branches(string site, AttentionKind kind, int step, string branch, bool accepted)
    {
        var scope = new InterventionScope { Sites = new[] { "blocks.2*", "cross" }, MinStep = 2, MaxStep = 10, Branches = new[] { "cond" } };
        Assert.Equal(accepted, scope.Accepts(Call(site, kind, step, branch)));
    }

    [Fact]
    public void Out_of_scope_calls_run_dense_through_the_seam()
    {
        var c = new InterventionCase();
        var temperature = new Temperature(2.0, new InterventionScope { MinStep = 0, MaxStep = 3 });
        var dense = c.Dense();
        Assert.True(c.Run(temperature, step: 4).eq(dense).all().item<bool>());
        Assert.True(Fixtures.RelativeL2(c.Run(temperature, step: 3), dense) > 1e-2);
    }

    [Fact]
    public void Heads_are_checked_against_the_call()
    {
        var c = new InterventionCase();
        Assert.Throws<VDiTLensException>(() => c.Run(new HeadAblation(new InterventionScope { Heads = new long[] { 3 } })));
        Assert.Throws<VDiTLensException>(() => c.Run(new HeadAblation(new InterventionScope { Heads = new long[] { 1, 1 } })));
    }
}
