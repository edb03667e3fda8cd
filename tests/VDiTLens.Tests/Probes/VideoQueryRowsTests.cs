using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Probes;
using VDiTLens.Runtime;
using VDiTLens.Studies.Sinks.Statistics;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Probes;

public sealed class VideoQueryRowsTests
{
    [Fact]
    public void Joint_attention_received_mass_averages_over_video_queries_and_keeps_the_valid_keys()
    {
        TorchRuntime.Initialise();
        const int text = 6, heads = 2, dim = 4;
        var grid = new VideoGrid(2, 2, 3);
        long n = text + grid.Count;
        var valid = torch.ones(1, n, dtype: ScalarType.Bool);
        valid[0, TensorIndex.Slice(4, text)] = torch.tensor(false); // two padded text keys
        var layout = TokenLayout.Concat(valid, TokenLayout.Text(text), TokenLayout.Video(grid));
        var g = new Generator(3);
        var q = torch.randn(new long[] { 1, heads, n, dim }, dtype: ScalarType.Float64, generator: g);
        var k = torch.randn(new long[] { 1, heads, n, dim }, dtype: ScalarType.Float64, generator: g);
        var v = torch.randn(new long[] { 1, heads, n, dim }, dtype: ScalarType.Float64, generator: g);
        var seam = new AttentionSeam();
        var mass = new VideoQueryRows(new ReceivedMass());
        using (seam.Attach(new AttentionMapProbe(new IAttentionStatistic[] { mass }, memoryBudgetBytes: 256)))
            seam.Attend(new AttentionSite("blocks.0.attn", 0, AttentionKind.Joint, "j"), q, k, v, layout, layout, valid.view(1, 1, 1, n)).Dispose();
        var result = mass.Results().Single().Value!.to(ScalarType.Float64); // results are stored in float32

        // Reference: dense float64 softmax with padded keys excluded, averaged over the video query rows only.
        var qa = q.data<double>().ToArray();
        var ka = k.data<double>().ToArray();
        var keyValid = valid[0].data<bool>().ToArray();
        for (int h = 0; h < heads; h++)
        {
            var expected = new double[n];
            for (long i = text; i < n; i++)
            {
                var logits = new double[n];
                for (long j = 0; j < n; j++)
                {
                    double dot = 0;
                    for (int d = 0; d < dim; d++) dot += qa[(h * n + i) * dim + d] * ka[(h * n + j) * dim + d];
                    logits[j] = keyValid[j] ? dot / Math.Sqrt(dim) : double.NegativeInfinity;
                }
                double max = logits.Max(), z = logits.Sum(l => Math.Exp(l - max));
                for (long j = 0; j < n; j++) expected[j] += Math.Exp(logits[j] - max) / z / grid.Count;
            }
            for (long j = 0; j < n; j++) Assert.Equal(expected[j], result[0, h, j].item<double>(), 6);
        }

        var validKeys = Assert.Single(mass.ValidKeys).Value;
        Assert.Equal(keyValid, validKeys);
        var m = HeadMassMatrix.From(result, validKeys);
        Assert.Equal((int)n - 2, m.ValidKeys);
        Assert.All(HeadMassStatistics.Of(m, 1), h => Assert.Equal((int)n - 2, h.ValidKeys));
    }
}
