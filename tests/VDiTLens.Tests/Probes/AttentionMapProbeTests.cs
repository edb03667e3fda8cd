using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Probes;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Probes;

public sealed class AttentionMapProbeTests
{
    private static readonly VideoGrid Grid = new(3, 4, 5);

    /// <summary>A joint [text(7), video(3×4×5)] call with the last 2 text keys padded out.</summary>
    private static (AttentionCall Call, Tensor Q, Tensor K, double[,,,] Dense) JointCall(ScalarType dtype)
    {
        TorchRuntime.Initialise();
        torch.manual_seed(11);
        long b = 2, h = 3, d = 8, lt = 7, l = lt + Grid.Count;
        var q = torch.randn(new[] { b, h, l, d }, dtype: dtype) * 1.5;
        var k = torch.randn(new[] { b, h, l, d }, dtype: dtype) * 1.5;
        var valid = torch.ones(b, l, dtype: ScalarType.Bool);
        valid[1, TensorIndex.Slice(lt - 2, lt)] = torch.tensor(false);
        var mask = valid.view(b, 1, 1, l);
        var layout = TokenLayout.Concat(valid, TokenLayout.Text(lt), TokenLayout.Video(Grid));
        var site = new AttentionSite("blocks.0.attn1", 0, AttentionKind.Joint, "attn.0.joint");
        var call = new AttentionCall(site, new AttentionRunState(), 1 / Math.Sqrt(d), layout, layout, mask);
        var dense = ProbeReference.ToArray4(AttentionKernels.Probabilities(q.to(ScalarType.Float64), k.to(ScalarType.Float64), call.Scale, mask));
        return (call, q, k, dense);
    }

    private static ProbeResults Run(AttentionCall call, Tensor q, Tensor k, long budgetBytes, params IAttentionStatistic[] stats)
    {
        var probe = new AttentionMapProbe(stats, memoryBudgetBytes: budgetBytes);
        probe.Observe(call, q, k, k, q);
        return probe.Results();
    }

    [Theory]
    [InlineData(ScalarType.Float64, 1L << 30, 1e-7)] // results are stored as float32
    [InlineData(ScalarType.Float64, 4000, 1e-7)] // a few rows per block: exercises blocking
    [InlineData(ScalarType.Float32, 4000, 1e-5)]
    public void Received_mass_and_pooled_maps_equal_the_dense_reference(ScalarType dtype, long budget, double tolerance)
    {
        var (call, q, k, dense) = JointCall(dtype);
        var r = Run(call, q, k, budget, new ReceivedMass(), PooledMap.Frames(), PooledMap.Tiles(2), PooledMap.Modalities());

        Fixtures.AssertClose(r["blocks.0.attn1.received_mass"], ProbeReference.FromArray(ProbeReference.ReceivedMass(dense)), tolerance, "received mass");
        foreach (var (name, grouping, renorm) in new (string, TokenGrouping, bool)[]
                 { ("frame_map", new FrameGrouping(), true), ("tile_map", new TileGrouping(2), true), ("modality_map", new ModalityGrouping(), false) })
        {
            var (qg, qc) = grouping.Assign(call.QueryLayout)!.Value;
            var expected = ProbeReference.Pooled(dense, qg, qc, qg, qc, renorm);
            Fixtures.AssertClose(r[$"blocks.0.attn1.{name}"], ProbeReference.FromArray(expected), tolerance, name);
        }
    }

    [Fact]
    public void Frame_map_rows_sum_to_one()
    {
        var (call, q, k, _) = JointCall(ScalarType.Float64);
        var map = Run(call, q, k, 1L << 30, PooledMap.Frames())["blocks.0.attn1.frame_map"];
        Assert.Equal(new long[] { 2, 3, 3, 3 }, map.shape);
        Assert.True(torch.allclose(map.sum(-1), torch.ones(2, 3, 3), 1e-6, 1e-6));
    }

    [Fact]
    public void Entropy_and_coverage_equal_the_dense_reference()
    {
        var (call, q, k, dense) = JointCall(ScalarType.Float64);
        var r = Run(call, q, k, 6000, new EntropyCoverage());
        var (entropy, coverage) = ProbeReference.EntropyCoverage(dense, EntropyCoverage.Levels);
        Fixtures.AssertClose(r["blocks.0.attn1.entropy"], ProbeReference.FromArray(entropy), 1e-7, "entropy");
        Fixtures.AssertClose(r["blocks.0.attn1.coverage"], ProbeReference.FromArray(coverage), 1e-7, "coverage");
    }

    [Fact]
    public void Head_filter_selects_heads()
    {
        var (call, q, k, dense) = JointCall(ScalarType.Float64);
        var probe = new AttentionMapProbe(new[] { new ReceivedMass() }, new AttentionSelector { Heads = new long[] { 2 } });
        probe.Observe(call, q, k, k, q);
        var mass = probe.Results().Single().Value;
        var expected = ProbeReference.FromArray(ProbeReference.ReceivedMass(dense)).narrow(1, 2, 1);
        Fixtures.AssertClose(mass, expected, 1e-7, "head 2");
    }

    [Fact]
    public void Sampled_rows_are_the_dense_rows_on_the_grid()
    {
        var (call, q, k, dense) = JointCall(ScalarType.Float64);
        var rows = new SampledRows();
        rows.Observe(call, q, k, k, q);
        var r = rows.Results();
        var centres = SampledRows.FrameCentres(call.QueryLayout);
        var denseT = ProbeReference.FromArray(dense);
        var expected = denseT.index_select(2, torch.tensor(centres));
        Fixtures.AssertClose(r["blocks.0.attn1.rows"], expected, 1e-6, "rows");
        Assert.Equal(new long[] { 2, 3, 3, 3, 4, 5 }, r["blocks.0.attn1.rows_grid"].shape);
    }
}
