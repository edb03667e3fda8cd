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
}
