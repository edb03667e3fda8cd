using TorchSharp;
using VDiTLens.Interventions;
using VDiTLens.Tests.Probes;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;
using VDiTLens.Attention;

namespace VDiTLens.Tests.Interventions;

public sealed class MapTransferTests
{
    private static readonly (long, long)[] TargetOneFromSourceZero = { (1, 0) };

    [Fact]
    public void Identical_source_and_target_leave_the_output_unchanged()
    {
        var c = new InterventionCase();
        Tensor Twin(Tensor t) => torch.cat(new[] { t[TensorIndex.Slice(0, 1)], t[TensorIndex.Slice(0, 1)] }, 0);
        var (q, k, v) = (Twin(c.Q), Twin(c.K), Twin(c.V));
        var mask = torch.ones(2, 1, 1, InterventionCase.Length, dtype: ScalarType.Bool);
        var actual = c.Run(new[] { new MapTransfer(TargetOneFromSourceZero) }, q: q, k: k, v: v, mask: mask);
        var dense = TorchSharp.torch.nn.functional.scaled_dot_product_attention(q, k, v, mask);
        Assert.True(actual.eq(dense).all().item<bool>());
    }

    [Fact]
    public void With_text_tokens_the_target_attends_with_the_whole_source_map_over_its_own_values()
    {
        var c = new InterventionCase();
        var actual = c.Run(new MapTransfer(TargetOneFromSourceZero, transferText: true));

        // target row 1: softmax(q_src k_srcᵀ) with the source's mask (row 0 has no padding), times v of row 1
        var (q, k, v) = (ProbeReference.ToArray4(c.Q), ProbeReference.ToArray4(c.K), ProbeReference.ToArray4(c.V));
        int l = (int)InterventionCase.Length, d = (int)InterventionCase.HeadDim;
        var expected = new double[2, 3, l, d];
        for (int b = 0; b < 2; b++)
        for (int h = 0; h < 3; h++)
        for (int i = 0; i < l; i++)
        {
            int mapRow = b == 1 ? 0 : b;
            var logits = Enumerable.Range(0, l).Select(j => Enumerable.Range(0, d).Sum(e => q[mapRow, h, i, e] * k[mapRow, h, j, e]) * c.Scale).ToArray();
            var p = DenseReference.Softmax(logits, Enumerable.Range(0, l).Select(j => InterventionCase.IsValid(mapRow, j)).ToArray());
            for (int j = 0; j < l; j++) for (int e = 0; e < d; e++) expected[b, h, i, e] += p[j] * v[b, h, j, e];
        }
        Fixtures.AssertClose(actual, ProbeReference.FromArray(expected), 1e-13, "transferred map");
    }

    [Fact]
    public void At_a_joint_call_only_the_video_tokens_q_and_k_are_transferred_by_default()
    {
        var c = new InterventionCase();
        var actual = c.Run(new MapTransfer(TargetOneFromSourceZero));

        // target row 1: q and k of the video tokens from row 0, of the text tokens its own; its own text mask and values
        var (q, k, v) = (ProbeReference.ToArray4(c.Q), ProbeReference.ToArray4(c.K), ProbeReference.ToArray4(c.V));
        int l = (int)InterventionCase.Length, d = (int)InterventionCase.HeadDim, text = InterventionCase.TextLength;
        int From(int b, int position) => b == 1 && position >= text ? 0 : b;
        var expected = new double[2, 3, l, d];
        for (int b = 0; b < 2; b++)
        for (int h = 0; h < 3; h++)
        for (int i = 0; i < l; i++)
        {
            var logits = Enumerable.Range(0, l).Select(j => Enumerable.Range(0, d).Sum(e => q[From(b, i), h, i, e] * k[From(b, j), h, j, e]) * c.Scale).ToArray();
            var p = DenseReference.Softmax(logits, Enumerable.Range(0, l).Select(j => InterventionCase.IsValid(b, j)).ToArray());
            for (int j = 0; j < l; j++) for (int e = 0; e < d; e++) expected[b, h, i, e] += p[j] * v[b, h, j, e];
        }
        Fixtures.AssertClose(actual, ProbeReference.FromArray(expected), 1e-13, "video-token transfer");
        // the video-to-video block of the target's map is the source's; with the text tokens too the result differs
        var whole = c.Run(new MapTransfer(TargetOneFromSourceZero, transferText: true));
        Assert.True(Fixtures.RelativeL2(actual[1], whole[1]) > 1e-2, "text tokens must matter at a joint call");
    }

    [Fact]
    public void A_self_attention_call_over_video_alone_transfers_every_token()
    {
        var c = new InterventionCase();
        var video = TokenLayout.Video(InterventionCase.Grid);
        long n = InterventionCase.Grid.Count;
        var (q, k, v) = (c.Q[.., .., ^(int)n..].contiguous(), c.K[.., .., ^(int)n..].contiguous(), c.V[.., .., ^(int)n..].contiguous());
        var site = new AttentionSite("blocks.2.attn1", 2, AttentionKind.Self, "attn.2.self");
        var seam = new AttentionSeam();
        seam.Attach(new MapTransfer(TargetOneFromSourceZero));
        var actual = seam.Attend(site, q, k, v, video, video, null, c.Scale);
        var qt = q.clone();
        var kt = k.clone();
        qt[1] = q[0];
        kt[1] = k[0];
        Fixtures.AssertClose(actual, (qt.matmul(kt.transpose(-1, -2)) * c.Scale).softmax(-1).matmul(v), 1e-13, "self-attention transfer");
    }

    [Fact]
    public void Head_subset_transfers_only_those_heads()
    {
        var c = new InterventionCase();
        var actual = c.Run(new MapTransfer(TargetOneFromSourceZero, new AttentionSelector { Heads = new long[] { 2 } }));
        var dense = c.Dense();
        var full = c.Run(new MapTransfer(TargetOneFromSourceZero));
        Fixtures.AssertClose(actual[1, 2], full[1, 2], 1e-15, "head 2 transferred");
        Fixtures.AssertClose(actual[1, TensorIndex.Slice(0, 2)], dense[1, TensorIndex.Slice(0, 2)], 1e-15, "heads 0-1 untouched");
        Fixtures.AssertClose(actual[0], dense[0], 1e-15, "source row untouched");
        Assert.True(Fixtures.RelativeL2(full[1, 2], dense[1, 2]) > 1e-2, "transfer must change the target");
    }

    [Fact]
    public void Bad_pairs_are_refused()
    {
        var c = new InterventionCase();
        Assert.Throws<VDiTLensException>(() => c.Run(new MapTransfer(new[] { (1L, 5L) })));
        Assert.Throws<VDiTLensException>(() => new MapTransfer(new[] { (1L, 0L), (1L, 0L) }));
    }
}
