using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Probes;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Probes;

public sealed class FusedAttentionSummaryTests
{
    private static readonly VideoGrid Grid = new(3, 4, 5);

    private static (AttentionCall Call, Tensor Q, Tensor K, double[,,,] Dense) Call(ScalarType dtype, bool joint, double scale, double sharpest = 1.2, long d = 16)
    {
        TorchRuntime.Initialise();
        torch.manual_seed(5);
        long b = 2, h = 3, lt = joint ? 7 : 0, l = lt + Grid.Count;
        // Query norms from 1.2 up to `sharpest`: a wide spread of log-partitions over the queries of a head.
        var sharpness = torch.linspace(1.2, sharpest, l, dtype: ScalarType.Float64).view(1, 1, l, 1);
        var q = (torch.randn(new[] { b, h, l, d }, dtype: ScalarType.Float64) * sharpness).to(dtype);
        var k = torch.randn(new[] { b, h, l, d }, dtype: dtype) * 1.2;
        Tensor? mask = null;
        TokenLayout layout = TokenLayout.Video(Grid);
        if (joint)
        {
            var valid = torch.ones(b, l, dtype: ScalarType.Bool);
            valid[1, TensorIndex.Slice(lt - 3, lt)] = torch.tensor(false);
            mask = valid.view(b, 1, 1, l);
            layout = TokenLayout.Concat(valid, TokenLayout.Text(lt), TokenLayout.Video(Grid));
        }
        var site = new AttentionSite("blocks.3.attn1", 3, joint ? AttentionKind.Joint : AttentionKind.Self, "attn.3.x");
        var call = new AttentionCall(site, new AttentionRunState(), scale, layout, layout, mask);
        var dense = ProbeReference.ToArray4(AttentionKernels.Probabilities(q.to(ScalarType.Float64), k.to(ScalarType.Float64), scale, mask));
        return (call, q, k, dense);
    }

    [Theory]
    [InlineData(false, 0.25, ScalarType.Float64, 1e-7)]
    [InlineData(true, 0.25, ScalarType.Float64, 1e-7)]
    [InlineData(true, 1.0, ScalarType.Float64, 1e-7)] // scale other than 1/sqrt(d), as in T5
    [InlineData(true, 0.25, ScalarType.Float32, 1e-4)]
    [InlineData(true, 0.25, ScalarType.BFloat16, 3e-2)] // bf16 kernel outputs: the precision a bf16 model run gets
    [InlineData(true, 0.25, ScalarType.Float16, 3e-2)] // the second pass runs in bf16
    public void Equals_the_dense_reference(bool joint, double scale, ScalarType dtype, double tolerance)
    {
        var (call, q, k, dense) = Call(dtype, joint, scale);
        var probe = new FusedAttentionSummary();
        probe.Observe(call, q, k, k, q);
        var r = probe.Results();

        Fixtures.AssertClose(r["blocks.3.attn1.received_mass"], ProbeReference.FromArray(ProbeReference.ReceivedMass(dense)), tolerance, "received mass");
        var (fg, fc) = new FrameGrouping().Assign(call.QueryLayout)!.Value;
        Fixtures.AssertClose(r["blocks.3.attn1.frame_map"], ProbeReference.FromArray(ProbeReference.Pooled(dense, fg, fc, fg, fc, true)), tolerance, "frame map");
        var (mg, mc) = new ModalityGrouping().Assign(call.QueryLayout)!.Value;
        Fixtures.AssertClose(r["blocks.3.attn1.modality_map"], ProbeReference.FromArray(ProbeReference.Pooled(dense, mg, mc, mg, mc, false)), tolerance, "modality map");
        var (entropy, _) = ProbeReference.EntropyCoverage(dense, EntropyCoverage.Levels);
        Fixtures.AssertClose(r["blocks.3.attn1.entropy"], ProbeReference.FromArray(entropy), tolerance, "entropy");
    }

    [Fact]
    public void More_frames_than_spare_value_columns_still_give_the_exact_frame_map()
    {
        // Head dim 7: 3 frames + 2 modalities + dummy + 2 key dims do not fit into one pass's values.
        var (call, q, k, dense) = Call(ScalarType.Float64, true, 0.25, d: 7);
        var probe = new FusedAttentionSummary();
        probe.Observe(call, q, k, k, q);
        var r = probe.Results();
        var (fg, fc) = new FrameGrouping().Assign(call.QueryLayout)!.Value;
        Fixtures.AssertClose(r["blocks.3.attn1.frame_map"], ProbeReference.FromArray(ProbeReference.Pooled(dense, fg, fc, fg, fc, true)), 1e-7, "frame map");
        Fixtures.AssertClose(r["blocks.3.attn1.received_mass"], ProbeReference.FromArray(ProbeReference.ReceivedMass(dense)), 1e-7, "received mass");
    }

    [Fact]
    public void Log_partitions_spread_over_tens_of_nats_stay_exact()
    {
        // The second pass carries exp(L − lse_q) in its values: lse spread over 40–60 nats within a head.
        var (call, q, k, dense) = Call(ScalarType.Float32, true, 0.25, sharpest: 16.0);
        var probe = new FusedAttentionSummary();
        probe.Observe(call, q, k, k, q);
        var r = probe.Results();
        var lse = (torch.matmul(q.to(ScalarType.Float64), k.to(ScalarType.Float64).transpose(-2, -1)) * 0.25).logsumexp(-1);
        Assert.True((lse.amax(-1) - lse.amin(-1)).min().item<double>() > 40, "the spread this test is about");
        Fixtures.AssertClose(r["blocks.3.attn1.received_mass"], ProbeReference.FromArray(ProbeReference.ReceivedMass(dense)), 1e-4, "received mass");
        var (entropy, _) = ProbeReference.EntropyCoverage(dense, EntropyCoverage.Levels);
        Fixtures.AssertClose(r["blocks.3.attn1.entropy"], ProbeReference.FromArray(entropy), 1e-4, "entropy");
    }

    [Fact]
    public void Logits_beyond_the_fused_range_raise_an_error_at_that_call_naming_the_site()
    {
        // Query norms up to 40: some queries' largest logits sit hundreds of nats above their mean-key logit.
        var (call, q, k, _) = Call(ScalarType.Float32, true, 0.25, sharpest: 40.0);
        var probe = new FusedAttentionSummary();
        var error = Assert.Throws<VDiTLensException>(() => probe.Observe(call, q, k, k, q));
        Assert.Contains(call.Site.Name, error.Message);
        Assert.Contains("Fused = false", error.Message);
    }

    [Fact]
    public void Logits_beyond_the_fused_range_go_to_the_exact_fallback_for_that_call()
    {
        var (call, q, k, dense) = Call(ScalarType.Float32, true, 0.25, sharpest: 40.0);
        using var probe = new FusedAttentionSummary { Fallback = new AttentionMapProbe(new IAttentionStatistic[] { new ReceivedMass() }) };
        probe.Observe(call, q, k, k, q);
        using var fused = probe.Results();
        using var fallback = probe.Fallback.Results();
        Assert.Empty(fused);
        Fixtures.AssertClose(fallback[$"{call.Site.Name}.received_mass"], ProbeReference.FromArray(ProbeReference.ReceivedMass(dense)), 1e-4, "received mass");
    }

    [Fact]
    public void Query_dependent_masks_are_left_to_the_blockwise_probe()
    {
        var (call, _, _, _) = Call(ScalarType.Float64, false, 0.25);
        var causal = torch.ones(60, 60, dtype: ScalarType.Bool).tril().view(1, 1, 60, 60);
        Assert.NotNull(FusedAttentionSummary.Unsupported(call with { Mask = causal }));
        Assert.Null(FusedAttentionSummary.Unsupported(call));
    }
}
