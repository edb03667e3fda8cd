using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Probes;
using VDiTLens.Runtime;
using VDiTLens.Studies.Sinks;
using VDiTLens.Studies.Sinks.Statistics;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Studies.Sinks.Statistics;

/// <summary>
/// A first-token sink planted in causal attention computed through the seam, at two sequence lengths: every causal
/// statistic equals a float64 dense computation written here from the definitions, and the length-invariant ones
/// (first-token α, top-1 share, Sink^ε) agree across lengths while the ratio to the mean key does not.
/// </summary>
public sealed class CausalSinkStatisticsTests
{
    private const int Sequences = 3, Heads = 4, Dim = 8;
    /// <summary>Per head, the share of every query's attention planted on the first key (head 3 stays below ε = 0.3).</summary>
    private static readonly double[] Planted = { 0.9, 0.6, 0.45, 0.2 };

    /// <summary>
    /// q, k, v [N, H, T, D] in float64: dimension 0 of key 0 is 1 and of query q is √D · ln(p q / (1 − p)), so that
    /// (before the small random part of the other dimensions) query q ≥ 1 gives key 0 exactly p and the q others (1 − p)/q.
    /// </summary>
    private static (Tensor Q, Tensor K, Tensor V) PlantedQkv(int t, int seed)
    {
        var g = new Generator((ulong)seed);
        var q = 0.3 * torch.randn(new long[] { Sequences, Heads, t, Dim }, dtype: ScalarType.Float64, generator: g);
        var k = 0.3 * torch.randn(new long[] { Sequences, Heads, t, Dim }, dtype: ScalarType.Float64, generator: g);
        var v = torch.randn(new long[] { Sequences, Heads, t, Dim }, dtype: ScalarType.Float64, generator: g);
        k[.., .., .., 0] = torch.tensor(0.0, dtype: ScalarType.Float64);
        k[.., .., 0, 0] = torch.tensor(1.0, dtype: ScalarType.Float64);
        for (int h = 0; h < Heads; h++)
            for (int i = 1; i < t; i++)
                q[.., h, i, 0] = torch.tensor(Math.Sqrt(Dim) * Math.Log(Planted[h] * i / (1 - Planted[h])), dtype: ScalarType.Float64);
        return (q, k, v);
    }

    /// <summary>A[s][h][i][j], causal softmax by loops.</summary>
    private static double[][][][] DenseAttention(Tensor q, Tensor k, int t)
    {
        var qa = q.data<double>().ToArray();
        var ka = k.data<double>().ToArray();
        double At(double[] a, int s, int h, int i, int d) => a[((s * Heads + h) * t + i) * Dim + d];
        var attention = new double[Sequences][][][];
        for (int s = 0; s < Sequences; s++)
        {
            attention[s] = new double[Heads][][];
            for (int h = 0; h < Heads; h++)
            {
                attention[s][h] = new double[t][];
                for (int i = 0; i < t; i++)
                {
                    var logits = new double[i + 1];
                    for (int j = 0; j <= i; j++)
                    {
                        for (int d = 0; d < Dim; d++) logits[j] += At(qa, s, h, i, d) * At(ka, s, h, j, d);
                        logits[j] /= Math.Sqrt(Dim);
                    }
                    double max = logits.Max(), z = logits.Sum(x => Math.Exp(x - max));
                    attention[s][h][i] = Enumerable.Range(0, t).Select(j => j <= i ? Math.Exp(logits[j] - max) / z : 0).ToArray();
                }
            }
        }
        return attention;
    }

    private static Tensor ProbedReceivedMass(Tensor q, Tensor k, Tensor v, int t, AttentionSite site)
    {
        var seam = new AttentionSeam();
        var mass = new ReceivedMass();
        var causal = torch.ones(t, t, dtype: ScalarType.Bool).tril().view(1, 1, t, t);
        using (seam.Attach(new AttentionMapProbe(new[] { mass })))
            seam.Attend(site, q, k, v, TokenLayout.Text(t), TokenLayout.Text(t), causal, 1.0 / Math.Sqrt(Dim)).Dispose();
        return mass.Results().Single().Value!;
    }

    [Fact]
    public void Causal_statistics_match_a_dense_float64_computation_and_are_length_invariant_for_a_first_token_sink()
    {
        TorchRuntime.Initialise();
        var site = new AttentionSite("layers.0.self_attn", 0, AttentionKind.Self, "attn.0.self");
        var results = new[] { 16, 64 }.Select(t =>
        {
            var (q, k, v) = PlantedQkv(t, seed: t);
            var a = DenseAttention(q, k, t);
            using var received = ProbedReceivedMass(q, k, v, t, site);
            var layer = CausalSinks.Layer(site, received, epsilon: 0.3);
            var profile = CausalSinks.Of(new[] { (site, received), (site with { Name = "layers.1.self_attn", Layer = 1 }, received) }, epsilon: 0.3);

            // By definition (the probe hands its means back in float32, hence 6 decimals): α_j = 1/(T − j) Σ_{i ≥ j} A_ij per (sequence, head); top-1 share from the mean over all T queries.
            double Alpha(int s, int h, int j) => Enumerable.Range(j, t - j).Sum(i => a[s][h][i][j]) / (t - j);
            double AllQueries(int s, int h, int j) => Enumerable.Range(0, t).Sum(i => a[s][h][i][j]) / t;
            var firstKey = Enumerable.Range(0, Sequences).Select(s => Enumerable.Range(0, Heads).Average(h => Alpha(s, h, 0))).ToArray();
            var top = Enumerable.Range(0, Sequences).Select(s => Enumerable.Range(0, Heads).Average(h => Enumerable.Range(0, t).Max(j => AllQueries(s, h, j)))).ToArray();
            var share = Enumerable.Range(0, Sequences).Select(s => Enumerable.Range(0, Heads).Count(h => Alpha(s, h, 0) > 0.3) / (double)Heads).ToArray();
            Assert.Equal(firstKey.Average(), layer.FirstKeyMass.Value, 6);
            Assert.Equal(top.Average(), layer.TopShare.Value, 6);
            Assert.Equal(share.Average(), layer.SinkEpsilon.Value, 12);
            Assert.Equal(share.Average(), profile.ModelSinkEpsilon.Value, 12);
            for (int h = 0; h < Heads; h++)
                Assert.Equal(Enumerable.Range(0, Sequences).Average(s => Alpha(s, h, 0)), layer.FirstKeyMassPerHead[h], 6);
            double harmonic = Enumerable.Range(1, t).Sum(n => 1.0 / n);
            Assert.Equal(harmonic / t, layer.UniformFirstKeyMass, 12);
            for (int j = 0; j < t; j += 5)
            {
                double uniform = Enumerable.Range(j, t - j).Sum(i => 1.0 / (i + 1)) / (t - j);
                double alpha = Enumerable.Range(0, Sequences).Average(s => Enumerable.Range(0, Heads).Average(h => Alpha(s, h, j)));
                Assert.Equal(alpha / uniform, layer.CausalRatio[j], 5);
            }
            Assert.All(layer.TopKeyPerHead, key => Assert.Equal(0, key));
            Assert.Equal(Sequences, layer.FirstKeyMass.N);
            var old = SinkDetector.Detect(received, TokenLayout.Text(t), new SinkCriteria(), site);
            return (Layer: layer, OldRatio: old.PeakRatio);
        }).ToArray();
        var (shortRun, longRun) = (results[0], results[1]);
        // Planted p = (0.9, 0.6, 0.45, 0.2): three heads above ε at both lengths.
        Assert.Equal(0.75, shortRun.Layer.SinkEpsilon.Value, 12);
        Assert.Equal(0.75, longRun.Layer.SinkEpsilon.Value, 12);
        Assert.True(Math.Abs(shortRun.Layer.FirstKeyMass.Value - longRun.Layer.FirstKeyMass.Value) < 0.04,
            $"first-token α {shortRun.Layer.FirstKeyMass.Value:F4} at 16 tokens vs {longRun.Layer.FirstKeyMass.Value:F4} at 64");
        Assert.InRange(longRun.Layer.FirstKeyMass.Value, 0.5, 0.6); // ≈ mean planted share 0.5375
        Assert.True(Math.Abs(shortRun.Layer.TopShare.Value - longRun.Layer.TopShare.Value) < 0.04,
            $"top-1 share {shortRun.Layer.TopShare.Value:F4} vs {longRun.Layer.TopShare.Value:F4}");
        // The uniform-causal value and the ratio to the mean key move with length; the sink does not.
        Assert.True(shortRun.Layer.UniformFirstKeyMass > 2.5 * longRun.Layer.UniformFirstKeyMass);
        Assert.InRange(longRun.OldRatio / shortRun.OldRatio, 3.6, 4.4);
    }

    [Fact]
    public void Uniform_causal_attention_has_ratio_1_at_every_key()
    {
        TorchRuntime.Initialise();
        const int t = 10;
        var site = new AttentionSite("s", 0, AttentionKind.Self, "s");
        var zeros = torch.zeros(new long[] { 2, 1, t, 4 }, dtype: ScalarType.Float64);
        using var received = ProbedReceivedMass(zeros, zeros, zeros, t, site);
        var layer = CausalSinks.Layer(site, received, 0.3);
        Assert.All(layer.CausalRatio, r => Assert.Equal(1.0, r, 6)); // float32 probe means
        Assert.Equal(layer.UniformFirstKeyMass, layer.FirstKeyMass.Value, 7);
        Assert.Equal(0, layer.SinkEpsilon.Value);
    }
}
