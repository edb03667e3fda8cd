using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Interventions;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Interventions;

public sealed class AblationTests
{
    private static readonly long[] Sinks = { 1, 9, 30 };

    [Fact]
    public void Masked_sinks_are_removed_and_the_softmax_renormalised()
    {
        var c = new InterventionCase();
        var scope = new AttentionSelector { Heads = new long[] { 0, 2 } };
        var actual = c.Run(new SinkAblation(new SinkPositions { Global = Sinks }, SinkAblationMode.Mask, scope));
        var expected = c.Reference().Attend((_, h, _, p, _) =>
            Enumerable.Range(0, p.Length).Select(j => h == 1 || !Sinks.Contains(j)).ToArray());
        Fixtures.AssertClose(actual, expected, 1e-13, "masked sinks");
    }

    [Fact]
    public void Masked_sinks_combine_with_an_additive_mask()
    {
        var c = new InterventionCase();
        var additive = torch.zeros(InterventionCase.Batch, 1, 1, InterventionCase.Length, dtype: ScalarType.Float64)
            .masked_fill(c.Mask.logical_not(), double.NegativeInfinity);
        var actual = c.Run(new[] { new SinkAblation(new SinkPositions { Global = Sinks }, SinkAblationMode.Mask) }, mask: additive);
        var expected = c.Reference().Attend((_, _, _, p, _) => Enumerable.Range(0, p.Length).Select(j => !Sinks.Contains(j)).ToArray());
        Fixtures.AssertClose(actual, expected, 1e-13, "masked sinks, additive mask");
    }

    [Fact]
    public void Zeroed_sink_values_keep_their_weight()
    {
        var c = new InterventionCase();
        var actual = c.Run(new SinkAblation(new SinkPositions { Global = Sinks }, SinkAblationMode.ZeroValues, new AttentionSelector { Heads = new long[] { 1 } }));
        var v = c.V.clone();
        foreach (long s in Sinks) v[TensorIndex.Colon, 1, s] = torch.tensor(0.0);
        Fixtures.AssertClose(actual, c.Reference(v: v).Dense(), 1e-13, "zeroed values");
    }

    [Fact]
    public void Site_positions_override_the_global_ones()
    {
        var c = new InterventionCase();
        var positions = new SinkPositions
        {
            Global = new long[] { 0 },
            BySite = new Dictionary<string, IReadOnlyList<long>> { [c.Site.Name] = new long[] { 12 } },
        };
        var actual = c.Run(new SinkAblation(positions, SinkAblationMode.Mask));
        var expected = c.Reference().Attend((_, _, _, p, _) => Enumerable.Range(0, p.Length).Select(j => j != 12).ToArray());
        Fixtures.AssertClose(actual, expected, 1e-13, "site positions");
        Assert.Throws<VDiTLensException>(() => c.Run(new SinkAblation(new SinkPositions { Global = new long[] { 999 } }, SinkAblationMode.Mask)));
    }

    [Fact]
    public void Head_ablation_zeroes_only_the_chosen_heads()
    {
        var c = new InterventionCase();
        var actual = c.Run(new HeadAblation(new AttentionSelector { Heads = new long[] { 1 } }));
        var dense = c.Dense();
        Assert.Equal(0.0, actual[TensorIndex.Colon, 1].abs().max().item<double>());
        foreach (long h in new long[] { 0, 2 })
            Assert.True(actual[TensorIndex.Colon, h].eq(dense[TensorIndex.Colon, h]).all().item<bool>(), $"head {h}");
        Assert.Throws<VDiTLensException>(() => new HeadAblation(AttentionSelector.All));
    }
}
