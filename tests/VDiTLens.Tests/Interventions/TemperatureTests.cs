using TorchSharp;
using VDiTLens.Interventions;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;
using VDiTLens.Attention;

namespace VDiTLens.Tests.Interventions;

public sealed class TemperatureTests
{
    /// <summary>Reference with logits of head h divided by tau[h] (the scale divides through the dot product).</summary>
    private static Tensor Expected(InterventionCase c, double[] tauPerHead)
    {
        var q = c.Q.clone();
        for (int h = 0; h < tauPerHead.Length; h++) q[TensorIndex.Colon, h] = q[TensorIndex.Colon, h] / tauPerHead[h];
        return c.Reference(q: q).Dense();
    }

    [Fact]
    public void One_tau_on_all_heads_divides_every_logit()
    {
        var c = new InterventionCase();
        var actual = c.Run(new Temperature(1.7));
        Fixtures.AssertClose(actual, Expected(c, new[] { 1.7, 1.7, 1.7 }), 1e-13, "tau 1.7");
        Assert.True(Fixtures.RelativeL2(actual, c.Dense()) > 1e-2, "temperature must change the output");
    }

    [Fact]
    public void Per_head_taus_apply_to_their_heads_only()
    {
        var c = new InterventionCase();
        var actual = c.Run(new Temperature(new[] { 0.5, 3.0 }, new AttentionSelector { Heads = new long[] { 2, 0 } }));
        Fixtures.AssertClose(actual, Expected(c, new[] { 3.0, 1.0, 0.5 }), 1e-13, "per-head taus");
    }

    [Fact]
    public void One_tau_on_a_head_subset()
    {
        var c = new InterventionCase();
        var actual = c.Run(new Temperature(2.0, new AttentionSelector { Heads = new long[] { 1 } }));
        Fixtures.AssertClose(actual, Expected(c, new[] { 1.0, 2.0, 1.0 }), 1e-13, "head 1");
    }

    [Fact]
    public void Invalid_taus_are_refused()
    {
        Assert.Throws<VDiTLensException>(() => new Temperature(0.0));
        Assert.Throws<VDiTLensException>(() => new Temperature(new[] { 1.0, 2.0 }, new AttentionSelector { Heads = new long[] { 0 } }));
    }
}
