using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Studies.Maps;
using VDiTLens.Tests.Pipelines;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Studies.Maps;

public sealed class HeadViewStudyTests
{
    // Small enough that some head of the fixture's 2-head sites exceeds it; the default is Gu et al.'s 0.3.
    private const double Epsilon = 0.05;

    [Fact]
    public void Per_head_rows_equal_statistics_of_the_dense_probabilities_of_every_step()
    {
        using var pipeline = WanPipelineParityTests.LoadFixture(ScalarType.Float64);
        var reference = Fixtures.Load("wan_pipeline/reference.safetensors");
        var request = WanPipelineParityTests.FixtureRequest(reference["latents_init"].narrow(0, 0, 1)) with
        {
            Prompts = WanPipelineParityTests.FixtureRequest(reference["latents_init"]).Prompts.Take(1).ToArray(),
        };
        var recorder = new DenseProbabilityRecorder();
        string folder = Path.Combine(Path.GetTempPath(), $"heads-{Guid.NewGuid():N}");
        try
        {
            HeadViewResult views;
            using (pipeline.Seam.Attach(recorder))
                views = HeadViewStudy.Run(pipeline, request, new HeadViewOptions { Epsilon = Epsilon }, folder);
            Assert.Equal(2 * 4 * 2, views.Rows.Count); // 2 self sites × 4 steps × 2 heads
            Assert.True(views.Rows.Any(r => r.SinkMass > 0), $"no head has a key above ε = {Epsilon}: the sink column is not exercised");
            foreach (var row in views.Rows)
            {
                var p = recorder.Probabilities[$"attn.{row.Layer}.self.step{row.Step}.cond"][0, row.Head].to(ScalarType.Float64); // [Lq, Lk]
                long lk = p.shape[1];
                var mass = p.mean(new long[] { 0 });
                double sink = mass.data<double>().Where(m => m > Epsilon).Sum();
                double entropy = -(p * p.clamp_min(1e-300).log()).sum(-1).mean().item<double>();
                var sorted = p.sort(-1, descending: true).Values.cumsum(-1);
                double coverage = ((sorted < 0.9).sum(-1, type: ScalarType.Float64) + 1).mean().item<double>() / lk;
                string what = $"{row.Site} step {row.Step} head {row.Head}";
                Assert.True(Math.Abs(row.Top1Mass - mass.max().item<double>()) < 1e-6, $"{what} top-1 {row.Top1Mass} vs {mass.max().item<double>()}");
                Assert.True(Math.Abs(row.SinkMass - sink) < 1e-6, $"{what} sink mass {row.SinkMass} vs {sink}");
                Assert.True(Math.Abs(row.Entropy - entropy) < 1e-5, $"{what} entropy {row.Entropy} vs {entropy}");
                Assert.True(Math.Abs(row.NormalisedEntropy - entropy / Math.Log(lk)) < 1e-5, $"{what} entropy / ln L_k {row.NormalisedEntropy}");
                Assert.True(Math.Abs(row.Coverage90 - coverage) < 1e-3, $"{what} coverage {row.Coverage90} vs {coverage}");
            }
            Assert.Equal(views.Rows.Count + 1, File.ReadAllLines(views.CsvPath).Length);
            Assert.Contains("<svg", File.ReadAllText(views.SvgPath));
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, true);
        }
    }

    [Fact]
    public void Several_runs_average_to_the_mean_of_single_runs_with_intervals_over_runs()
    {
        using var pipeline = WanPipelineParityTests.LoadFixture(ScalarType.Float64);
        var reference = Fixtures.Load("wan_pipeline/reference.safetensors");
        var request = WanPipelineParityTests.FixtureRequest(reference["latents_init"].narrow(0, 0, 1)) with
        {
            Prompts = WanPipelineParityTests.FixtureRequest(reference["latents_init"]).Prompts.Take(1).ToArray(), InitialLatents = null,
        };
        var runs = new[] { request with { Seed = 1 }, request with { Seed = 2 }, request with { Seed = 3 } };
        string folder = Path.Combine(Path.GetTempPath(), $"heads-{Guid.NewGuid():N}");
        try
        {
            var options = new HeadViewOptions { Epsilon = Epsilon };
            var all = HeadViewStudy.Run(pipeline, runs, options, folder);
            var single = runs.Select(r => HeadViewStudy.Run(pipeline, r, options, Path.Combine(folder, $"seed{r.Seed}")).Rows).ToArray();
            Assert.NotEqual(single[0][0].Entropy, single[1][0].Entropy); // the seeds differ
            for (int i = 0; i < all.Rows.Count; i++)
            {
                Assert.Equal(single.Average(x => x[i].SinkMass), all.Rows[i].SinkMass, 12);
                Assert.Equal(single.Average(x => x[i].Entropy), all.Rows[i].Entropy, 12);
                for (int k = 0; k < runs.Length; k++) Assert.Equal(single[k][i], all.PerRun[k][i]);
            }
            var lines = File.ReadAllLines(all.IntervalsPath!);
            Assert.Equal(all.Rows.Count + 1, lines.Length);
            var header = lines[0].Split(',');
            foreach (var (line, i) in lines.Skip(1).Select((l, i) => (l.Split(','), i)))
            {
                double Col(string name) => double.Parse(line[Array.IndexOf(header, name)], System.Globalization.CultureInfo.InvariantCulture);
                Assert.True(Math.Abs(all.Rows[i].Top1Mass - Col("top1_mass_mean")) < 1e-5, $"row {i}: mean {Col("top1_mass_mean")} vs {all.Rows[i].Top1Mass}");
                Assert.InRange(Col("top1_mass_mean"), Col("top1_mass_low"), Col("top1_mass_high"));
                Assert.True(Math.Abs(single.Max(x => x[i].Top1Mass) - Col("top1_mass_max")) < 1e-5, $"row {i}: max {Col("top1_mass_max")}");
                Assert.Equal("3", line[5]);
            }
            Assert.Equal(3 * all.Rows.Count + 1, File.ReadAllLines(Path.Combine(folder, "heads_per_run.csv")).Length);
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, true);
        }
    }
}
