using System.Globalization;
using VDiTLens.Models.Llama;
using VDiTLens.Runtime;
using VDiTLens.Studies.Sinks;
using VDiTLens.Tests.Reports.Charts;
using VDiTLens.Training.LanguageModel;

namespace VDiTLens.Tests.Studies.Sinks;

/// <summary>The language model's pictures in the sinks report, on the shipped tiny LM (loaded, never trained here).</summary>
public sealed class LlmSinkChartsTests
{
    private static (LlamaForCausalLM Lm, LlmSinkProfile Profile, TorchSharp.torch.Tensor Ids) Measure(int sequences, int length)
    {
        TorchRuntime.Initialise();
        var lm = LlamaForCausalLM.Load(TinyLmSinkTests.Folder, ComputeOptions.Cpu32);
        var ids = TokenLanguages.Ids(TokenLanguages.OfFolder(TinyLmSinkTests.Folder), 0, sequences, length);
        return (lm, LlmSinkProfile.Measure(lm, new SinkCriteria(), ids), ids);
    }

    [Fact]
    public void The_heatmap_cells_are_the_profiles_per_head_first_token_shares()
    {
        var (lm, profile, ids) = Measure(8, 64);
        using (lm) using (ids)
        {
            var chart = LlmSinkCharts.FirstTokenShare(profile);
            var svg = new SvgTestDocument(chart);
            foreach (var layer in profile.Causal.Layers)
                for (int h = 0; h < layer.FirstKeyMassPerHead.Length; h++)
                {
                    string prefix = $"layer {layer.Layer}, head {h}: ";
                    var cell = svg.All("rect").Select(r => r.Element(SvgTestDocument.Svg + "title")?.Value).Single(t => t is not null && t.StartsWith(prefix, StringComparison.Ordinal))!;
                    double shown = double.Parse(cell[prefix.Length..], CultureInfo.InvariantCulture);
                    Assert.Equal(layer.FirstKeyMassPerHead[h], shown, 1e-3 * layer.FirstKeyMassPerHead[h]); // G4 in the tooltip
                }
            Assert.Equal(profile.Causal.Layers.Sum(l => l.FirstKeyMassPerHead.Length), svg.All("rect").Count(r => r.Element(SvgTestDocument.Svg + "title") is not null));
            Assert.Contains($"uniform causal: {profile.Causal.Layers[0].UniformFirstKeyMass:F3}", chart.Label);
        }
    }

    [Fact]
    public void The_pattern_is_the_largest_share_heads_and_its_first_column_is_that_heads_first_token_share()
    {
        // Two copies of one 32-token sequence: the profile's α₀ is then that sequence's, which the pattern must give
        // independently as the mean of its first column (a dense float64 softmax against the received-mass probe).
        var (lm0, _, all) = Measure(2, LlmAttentionPattern.MaxTokens);
        lm0.Dispose();
        using var one = all.narrow(0, 0, 1);
        using var ids = TorchSharp.torch.cat(new[] { one, one }, 0);
        all.Dispose();
        using var lm = LlamaForCausalLM.Load(TinyLmSinkTests.Folder, ComputeOptions.Cpu32);
        var profile = LlmSinkProfile.Measure(lm, new SinkCriteria(), ids);
        var pattern = LlmAttentionPattern.Of(lm, profile, ids);
        double best = profile.Causal.Layers.SelectMany(l => l.FirstKeyMassPerHead).Max();
        var layer = profile.Causal.Layers.Single(l => l.Layer == pattern.Layer);
        Assert.Equal(best, layer.FirstKeyMassPerHead[pattern.Head]);
        Assert.Equal(best, pattern.FirstTokenShare);
        Assert.Equal(layer.Site, pattern.Site);
        int t = pattern.Ids.Length;
        Assert.Equal(LlmAttentionPattern.MaxTokens, t);
        for (int q = 0; q < t; q++)
        {
            Assert.Equal(1, pattern.Probabilities[q].Sum(), 6); // float32 probabilities
            for (int k = q + 1; k < t; k++) Assert.Equal(0, pattern.Probabilities[q][k]);
        }
        Assert.Equal(best, pattern.Probabilities.Average(row => row[0]), 4);
        // The sink column: this trained head gives the first token several times its uniform-causal share.
        Assert.True(best > 3 * layer.UniformFirstKeyMass, $"α₀ {best:F3} vs uniform {layer.UniformFirstKeyMass:F3}");
        var svg = new SvgTestDocument(LlmSinkCharts.Pattern(pattern));
        svg.WithTitle("rect", $"query position {t - 1}, key position 0: {pattern.Probabilities[t - 1][0].ToString("G4", CultureInfo.InvariantCulture)}");
        svg.WithTitle("rect", "query position 0, key position 1: n/a"); // a key the query cannot see
    }
}
