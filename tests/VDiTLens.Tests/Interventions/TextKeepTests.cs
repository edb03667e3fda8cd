using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Interventions;
using VDiTLens.Interventions.Config;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Interventions;

public sealed class TextKeepTests
{
    // joint layout [text(5), video 2×1×3]: 11 keys
    private static readonly TokenLayout Joint = TokenLayout.Concat(null, TokenLayout.Text(5), TokenLayout.Video(new VideoGrid(2, 1, 3)));
    private static readonly AttentionSite Site = new("blocks.0.attn1", 0, AttentionKind.Joint, "attn.0.joint");

    private static (Tensor Q, Tensor K, Tensor V) Inputs()
    {
        TorchRuntime.Initialise();
        var g = new Generator(7);
        return (torch.randn(new long[] { 2, 3, 11, 4 }, ScalarType.Float64, generator: g),
            torch.randn(new long[] { 2, 3, 11, 4 }, ScalarType.Float64, generator: g),
            torch.randn(new long[] { 2, 3, 11, 4 }, ScalarType.Float64, generator: g));
    }

    /// <summary>Naive attention of one (batch, head): softmax over the allowed keys, with chosen values zeroed.</summary>
    private static double[] Row(Tensor q, Tensor k, Tensor v, int b, int h, int i, bool[] allowed, bool[] zeroed)
    {
        int lk = (int)k.shape[2], d = (int)q.shape[3];
        double scale = 1 / Math.Sqrt(d);
        var logits = new double[lk];
        for (int j = 0; j < lk; j++)
        {
            double s = 0;
            for (int c = 0; c < d; c++) s += q[b, h, i, c].item<double>() * k[b, h, j, c].item<double>();
            logits[j] = allowed[j] ? s * scale : double.NegativeInfinity;
        }
        double max = logits.Max(), z = logits.Sum(x => Math.Exp(x - max));
        var output = new double[d];
        for (int j = 0; j < lk; j++)
            for (int c = 0; c < d; c++)
                output[c] += Math.Exp(logits[j] - max) / z * (zeroed[j] ? 0 : v[b, h, j, c].item<double>());
        return output;
    }

    [Theory]
    [InlineData(TextKeepMode.Mask)]
    [InlineData(TextKeepMode.ZeroValues)]
    public void Only_the_kept_text_token_stays_on_scoped_heads(TextKeepMode mode)
    {
        var (q, k, v) = Inputs();
        var seam = new AttentionSeam();
        using var _ = seam.Attach(new TextKeep(new long[] { 2 }, mode, new AttentionSelector { Heads = new long[] { 0, 2 } }));
        var output = seam.Attend(Site, q, k, v, Joint, Joint);
        var dropped = Enumerable.Range(0, 11).Select(j => j < 5 && j != 2).ToArray();
        var none = new bool[11];
        var all = Enumerable.Repeat(true, 11).ToArray();
        for (int b = 0; b < 2; b++)
            for (int h = 0; h < 3; h++)
                for (int i = 0; i < 11; i++)
                {
                    bool scoped = h != 1;
                    var expected = !scoped ? Row(q, k, v, b, h, i, all, none)
                        : mode == TextKeepMode.Mask ? Row(q, k, v, b, h, i, dropped.Select(x => !x).ToArray(), none)
                        : Row(q, k, v, b, h, i, all, dropped);
                    for (int c = 0; c < 4; c++)
                        Assert.Equal(expected[c], output[b, h, i, c].item<double>(), 12);
                }
    }

    [Fact]
    public void Cross_attention_keeping_one_token_returns_its_value()
    {
        var (q, k, v) = Inputs();
        var seam = new AttentionSeam();
        using var _ = seam.Attach(InterventionFactory.FromJson("""[{"type":"text_keep","keep":[0]}]""")[0]);
        var cross = new AttentionSite("blocks.0.attn2", 0, AttentionKind.Cross, "attn.0.cross");
        var output = seam.Attend(cross, q, k, v, TokenLayout.Video(new VideoGrid(1, 1, 11)), TokenLayout.Text(11));
        var expected = v.narrow(2, 0, 1).expand(2, 3, 11, 4);
        Assert.True((output - expected).abs().max().item<double>() < 1e-12);
    }

    [Fact]
    public void Calls_without_text_keys_are_unchanged_and_bad_indices_are_refused()
    {
        var (q, k, v) = Inputs();
        var seam = new AttentionSeam();
        using var _ = seam.Attach(new TextKeep(new long[] { 7 }));
        var video = TokenLayout.Video(new VideoGrid(1, 1, 11));
        Assert.True(seam.Attend(Site, q, k, v, video, video).equal(AttentionKernels.Sdpa(q, k, v, 0.5)).all().item<bool>());
        var e = Assert.Throws<VDiTLensException>(() => seam.Attend(Site, q, k, v, Joint, Joint));
        Assert.Contains("has 5 text keys", e.Message);
        Assert.Throws<VDiTLensException>(() => InterventionFactory.FromJson("""[{"type":"text_keep","mode":"drop"}]"""));
    }
}
