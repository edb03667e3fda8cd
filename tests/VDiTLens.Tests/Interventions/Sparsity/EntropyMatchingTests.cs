using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Interventions.Sparsity;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Interventions.Sparsity;

public sealed class EntropyMatchingTests
{
    /// <summary>Entropy (nats) of softmax(z/τ) over the kept entries, by loops in float64.</summary>
    private static double Entropy(double[] z, bool[] keep, double tau)
    {
        double max = z.Where((_, j) => keep[j]).Max(), sum = 0;
        var e = z.Select((x, j) => keep[j] ? Math.Exp((x - max) / tau) : 0).ToArray();
        sum = e.Sum();
        return -e.Where((_, j) => keep[j]).Select(x => x / sum).Where(p => p > 0).Sum(p => p * Math.Log(p));
    }

    /// <summary>Bottom-k by its definition: drop the floor(s·n) smallest of the row (ties: lower index first), by a stable sort.</summary>
    private static bool[] BottomK(double[] z, double s)
    {
        int drop = (int)Math.Floor(z.Length * s);
        var keep = Enumerable.Repeat(true, z.Length).ToArray();
        foreach (int j in Enumerable.Range(0, z.Length).OrderBy(j => z[j]).ThenBy(j => j).Take(drop)) keep[j] = false;
        return keep;
    }

    [Theory]
    [InlineData(0.3)]
    [InlineData(0.6)]
    public void Matched_temperature_gives_the_masked_rows_the_dense_mean_entropy_by_a_float64_loop(double sparsity)
    {
        TorchRuntime.Initialise();
        torch.manual_seed(3);
        const int B = 2, H = 3, R = 5, L = 24;
        // heads of different sharpness, so each needs its own τ (dropping the smallest probabilities can only lower the entropy: the rest majorises)
        var logits = torch.randn(new long[] { B, H, R, L }, ScalarType.Float64) * torch.tensor(new[] { 2.0, 3.0, 4.0 }, ScalarType.Float64).view(1, H, 1, 1);
        var z = new double[B, H, R][];
        for (int b = 0; b < B; b++) for (int h = 0; h < H; h++) for (int r = 0; r < R; r++)
            z[b, h, r] = logits[b, h, r].data<double>().ToArray();
        var keep = torch.zeros(new long[] { B, H, R, L }, ScalarType.Bool);
        for (int b = 0; b < B; b++) for (int h = 0; h < H; h++) for (int r = 0; r < R; r++)
            keep[b, h, r] = torch.tensor(BottomK(z[b, h, r], sparsity));

        var matches = EntropyMatching.Solve(logits, keep);
        Assert.Equal(H, matches.Length);
        var all = Enumerable.Repeat(true, L).ToArray();
        for (int h = 0; h < H; h++)
        {
            double dense = 0, masked = 0, maskedAtOne = 0;
            for (int b = 0; b < B; b++) for (int r = 0; r < R; r++)
            {
                dense += Entropy(z[b, h, r], all, 1) / (B * R);
                masked += Entropy(z[b, h, r], BottomK(z[b, h, r], sparsity), matches[h].Tau) / (B * R);
                maskedAtOne += Entropy(z[b, h, r], BottomK(z[b, h, r], sparsity), 1) / (B * R);
            }
            Assert.False(matches[h].Clamped);
            Assert.Equal(dense, matches[h].DenseEntropy, 12);
            Assert.True(Math.Abs(masked - dense) < 1e-10, $"head {h}: masked entropy at τ = {matches[h].Tau} is {masked}, dense {dense}");
            Assert.True(maskedAtOne < dense - 1e-9, $"head {h}: masking did not lower the entropy ({maskedAtOne} vs {dense}); the check would be empty");
            Assert.True(matches[h].Tau > 1, $"head {h}: bottom-k lowers the entropy, so τ must exceed 1 (got {matches[h].Tau})");
        }
        Assert.True(matches.Select(m => m.Tau).Distinct().Count() == H, "heads of different sharpness got the same τ");
    }

    [Fact]
    public void An_unreachable_entropy_is_clamped_at_the_largest_temperature_and_flagged()
    {
        TorchRuntime.Initialise();
        // nearly uniform dense rows (entropy ≈ ln 20) but only 5 keys kept: ln 5 < ln 20 whatever τ is
        var logits = torch.randn(new long[] { 1, 1, 3, 20 }, ScalarType.Float64) * 0.01;
        var keep = torch.zeros(new long[] { 1, 1, 3, 20 }, ScalarType.Bool);
        keep[TensorIndex.Ellipsis, TensorIndex.Slice(0, 5)] = torch.tensor(true);
        var match = Assert.Single(EntropyMatching.Solve(logits, keep));
        Assert.True(match.Clamped);
        Assert.Equal(EntropyMatching.MaxTau, match.Tau, 9);
        Assert.True(match.MaskedEntropy < match.DenseEntropy);
    }

    [Fact]
    public void Calibrated_temperatures_applied_after_bottom_k_restore_the_dense_entropy_of_the_call()
    {
        var c = new InterventionCase();
        var sparsifier = new BottomKSparsifier(0.5);
        var calibrator = new VDiTLens.Studies.Sparsity.TemperatureCalibrator(new Dictionary<double, ISparsifier> { [0.5] = sparsifier }, AttentionSelector.All, queryStride: 1);
        var dense = c.Run(calibrator);
        Fixtures.AssertClose(dense, c.Dense(), 1e-12, "the calibrator must not change the output");
        var calibrated = Assert.Single(calibrator.Results);
        Assert.Equal(1, calibrated.Calls);
        // the masked attention at the calibrated τ, by the float64 reference: its mean entropy per head equals the dense one
        var reference = c.Reference();
        for (int h = 0; h < InterventionCase.Heads; h++)
        {
            double dense64 = 0, masked64 = 0;
            int rows = 0;
            for (int b = 0; b < reference.Batch; b++)
            {
                var valid = reference.ValidRow(b);
                for (int i = 0; i < reference.Queries; i++)
                {
                    var z = reference.Logits(b, h, i).Select((x, j) => valid[j] ? x : double.NegativeInfinity).ToArray();
                    var p = reference.Probabilities(b, h, i);
                    int n = valid.Count(v => v), drop = (int)Math.Floor(n * 0.5);
                    var keep = (bool[])valid.Clone();
                    foreach (int j in Enumerable.Range(0, z.Length).Where(j => valid[j]).OrderBy(j => p[j]).ThenBy(j => j).Take(drop)) keep[j] = false;
                    dense64 += Entropy(z.Select((x, j) => valid[j] ? x : 0).ToArray(), valid, 1);
                    masked64 += Entropy(z.Select((x, j) => valid[j] ? x : 0).ToArray(), keep, calibrated.Taus[h]);
                    rows++;
                }
            }
            Assert.True(Math.Abs(masked64 / rows - dense64 / rows) < 1e-9, $"head {h}: masked {masked64 / rows} vs dense {dense64 / rows}");
        }
        // and through the seam: bottom-k then the temperatures differs from bottom-k alone
        var withTau = c.Run(new IAttentionIntervention[] { new SparseAttention(new BottomKSparsifier(0.5)) }
            .Concat(VDiTLens.Studies.Sparsity.TemperatureCalibrator.Temperatures(calibrator.Results, 0.5, new[] { c.Site.Name })));
        var without = c.Run(new SparseAttention(new BottomKSparsifier(0.5)));
        Assert.True(withTau.sub(without).abs().max().item<double>() > 1e-3);
    }
}
