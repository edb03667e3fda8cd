using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Probes;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Probes;

public sealed class TopKCoverageTests
{
    private static readonly VideoGrid Grid = new(3, 4, 5);

    /// <summary>A joint [text(7), video] call with padded text keys in batch 1; logits sharp enough for small coverages.</summary>
    private static (AttentionCall Call, Tensor Q, Tensor K, double[,,,] Dense) JointCall(ScalarType dtype)
    {
        TorchRuntime.Initialise();
        torch.manual_seed(23);
        long b = 2, h = 3, d = 8, lt = 7, l = lt + Grid.Count;
        var q = torch.randn(new[] { b, h, l, d }, dtype: dtype) * 2.0;
        var k = torch.randn(new[] { b, h, l, d }, dtype: dtype) * 2.0;
        var valid = torch.ones(b, l, dtype: ScalarType.Bool);
        valid[1, TensorIndex.Slice(lt - 2, lt)] = torch.tensor(false);
        var mask = valid.view(b, 1, 1, l);
        var layout = TokenLayout.Concat(valid, TokenLayout.Text(lt), TokenLayout.Video(Grid));
        var site = new AttentionSite("blocks.1.attn1", 1, AttentionKind.Joint, "attn.1.joint");
        var call = new AttentionCall(site, new AttentionRunState(), 1 / Math.Sqrt(d), layout, layout, mask);
        var dense = ProbeReference.ToArray4(AttentionKernels.Probabilities(q.to(ScalarType.Float64), k.to(ScalarType.Float64), call.Scale, mask));
        return (call, q, k, dense);
    }

    /// <summary>The dense probabilities of every stride-th query only.</summary>
    private static double[,,,] EveryNth(double[,,,] p, int stride)
    {
        int b = p.GetLength(0), h = p.GetLength(1), lq = p.GetLength(2), lk = p.GetLength(3), n = (lq + stride - 1) / stride;
        var r = new double[b, h, n, lk];
        for (int i = 0; i < b; i++) for (int j = 0; j < h; j++) for (int q = 0; q < n; q++) for (int k = 0; k < lk; k++)
            r[i, j, q, k] = p[i, j, q * stride, k];
        return r;
    }

    [Theory]
    [InlineData(ScalarType.Float64, 1, 1L << 30)]
    [InlineData(ScalarType.Float64, 3, 5000)] // sampled queries, a few rows per block
    [InlineData(ScalarType.Float32, 4, 1L << 30)]
    public void Coverage_equals_the_dense_reference(ScalarType dtype, int stride, long budget)
    {
        var (call, q, k, dense) = JointCall(dtype);
        var probe = new TopKCoverage(memoryBudgetBytes: budget, queryStride: stride);
        probe.Observe(call, q, k, k, q);
        var r = probe.Results();
        var (_, coverage) = ProbeReference.EntropyCoverage(EveryNth(dense, stride), EntropyCoverage.Levels);
        var expected = ProbeReference.FromArray(coverage);
        Fixtures.AssertClose(r["blocks.1.attn1.coverage"], expected, 1e-7, "coverage");
        Fixtures.AssertClose(r["blocks.1.attn1.coverage_fraction"], expected / call.KeyLayout.Length, 1e-7, "coverage fraction");
        Assert.True(expected.max().item<double>() > 1.5); // not a trivial one-key case
    }

    [Fact]
    public void Additive_masks_are_added_after_the_scale()
    {
        var (call, q, k, _) = JointCall(ScalarType.Float64);
        // A bias on every key (not only 0/−inf), as an additive mask may carry.
        var bias = torch.where(call.Mask!, torch.linspace(-3, 3, call.Mask!.shape[^1], dtype: ScalarType.Float64).view(1, 1, 1, -1), double.NegativeInfinity);
        var additive = call with { Mask = bias };
        var dense = ProbeReference.ToArray4(AttentionKernels.Probabilities(q, k, call.Scale, bias));
        var probe = new TopKCoverage(queryStride: 2);
        probe.Observe(additive, q, k, k, q);
        var (_, coverage) = ProbeReference.EntropyCoverage(EveryNth(dense, 2), EntropyCoverage.Levels);
        Fixtures.AssertClose(probe.Results().Of("coverage").Single().Value, ProbeReference.FromArray(coverage), 1e-7, "coverage");
    }

    [Fact]
    public void Counts_resolve_ties_at_the_threshold()
    {
        TorchRuntime.Initialise();
        // p = [0.4, 0.2, 0.2, 0.2]: 0.5 needs 2 keys, 0.9 needs 4 (0.4 + 3 × 0.2 = 1.0 ≥ 0.9 but 0.8 < 0.9).
        var logits = torch.tensor(new[] { Math.Log(0.4), Math.Log(0.2), Math.Log(0.2), Math.Log(0.2) }).view(1, 1, 1, 4);
        var counts = new TopKCoverage().Counts(logits);
        Assert.Equal(new[] { 2.0, 4.0, 4.0, 4.0 }, counts.flatten().data<double>().ToArray());
    }
}
