using TorchSharp;
using VDiTLens.Interventions.Config;
using VDiTLens.Pipelines;
using VDiTLens.Runtime;
using VDiTLens.Studies.Sparsity;
using VDiTLens.Tests.Pipelines;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Studies.Sparsity;

public sealed class SensitivityProxyTests
{
    [Fact]
    public void Proxy_cell_equals_the_guided_prediction_change_of_a_generation_sparsified_at_that_step_only()
    {
        using var pipeline = WanPipelineParityTests.LoadFixture();
        var reference = Fixtures.Load("wan_pipeline/reference.safetensors");
        AssertProxyMatchesGenerations(pipeline, WanPipelineParityTests.FixtureRequest(reference["latents_init"]) with { BatchGuidance = false });
    }

    /// <summary>
    /// The proxy re-runs each sampled step as the loop ran it: the step's expert and guidance scale (Wan2.2 A14B: the
    /// last sampled step is the low-noise expert's), the image condition channels and CLIP image tokens (I2V), the
    /// first-frame latents and per-token timesteps (TI2V).
    /// </summary>
    [Theory]
    [InlineData("wan21-i2v")]
    [InlineData("wan22-a14b")]
    [InlineData("wan22-i2v-a14b")]
    [InlineData("wan22-ti2v")]
    [InlineData("wan22-ti2v-image")]
    public void On_every_wan_layout_the_proxy_equals_the_generations_sparsified_at_one_step(string layout)
    {
        TorchRuntime.Initialise();
        using var i2v21 = layout == "wan21-i2v" ? new Wan21ImageToVideoPipeline(zeroImageValues: false) : null;
        using var i2v22 = layout == "wan22-i2v-a14b" ? new ImageToVideoPipeline(zeroConditionWeights: false) : null;
        string path = i2v21?.Path ?? i2v22?.Path ?? Fixtures.Path(layout.StartsWith("wan22-ti2v") ? "wan22_ti2v_pipeline" : "wan22_pipeline", "pipeline");
        int width = layout.StartsWith("wan22-ti2v") ? 64 : 48;
        var image = layout is "wan22-ti2v" or "wan22-a14b" ? null : torch.rand(new long[] { 1, 3, 32, width }, generator: new Generator(11));
        using var pipeline = WanPipeline.Load(path, ComputeOptions.Cpu32);
        AssertProxyMatchesGenerations(pipeline, WanPipelineParityTests.FixtureRequest(null!) with
        {
            InitialLatents = null, Seed = 3, Width = width, Image = image, BatchGuidance = false, GuidanceScale2 = i2v22 is null ? null : 2.0,
        });
    }

    private static void AssertProxyMatchesGenerations(WanPipeline pipeline, GenerationRequest request)
    {
        var options = new ProxyOptions { Levels = new[] { 0.5 }, Samples = 2, Sites = new[] { "blocks.1.attn1" } };
        var proxy = SensitivityProxy.Run(pipeline, request, options);
        Assert.Equal(new[] { 0, 3 }, proxy.Steps);
        Assert.Equal(4 * 2 + 2 * (1 + 1) * 2, proxy.Forwards);
        var cell = Assert.Single(proxy.Cells);

        Tensor GuidedAt(int step, string? json)
        {
            Tensor? kept = null;
            var attached = json is null ? new List<IDisposable>() : InterventionFactory.FromJson(json).Select(i => pipeline.Seam.Attach(i)).ToList();
            try
            {
                pipeline.Denoise(request with { OnStep = s => { if (s.Step == step) kept = s.NoisePrediction.to(ScalarType.Float32).cpu().clone().DetachFromDisposeScope(); } }).Dispose();
            }
            finally
            {
                foreach (var a in attached) a.Dispose();
            }
            return kept!;
        }
        var perItem = new double[2];
        for (int i = 0; i < proxy.Steps.Count; i++)
        {
            int step = proxy.Steps[i];
            var dense = GuidedAt(step, null);
            var sparse = GuidedAt(step, $$"""[{"type":"bottom_k","sparsity":0.5,"sites":["blocks.1.attn1"],"steps":[{{step}},{{step}}]}]""");
            double expected = Fixtures.RelativeL2(sparse, dense);
            Assert.True(expected > 1e-4, $"step {step}: the sparsifier changed nothing ({expected:E2}); the check would be empty");
            Assert.True(Math.Abs(cell.PerStep[i] - expected) <= 1e-4 * expected, $"step {step}: proxy {cell.PerStep[i]:E6} vs generation {expected:E6}");
            for (int item = 0; item < 2; item++)
                perItem[item] += Fixtures.RelativeL2(sparse[item], dense[item]) / proxy.Steps.Count;
        }
        Assert.Equal(2, cell.PerItem.Count);
        for (int item = 0; item < 2; item++)
            Assert.True(Math.Abs(cell.PerItem[item] - perItem[item]) <= 1e-4 * perItem[item], $"prompt {item}: proxy {cell.PerItem[item]:E6} vs generation {perItem[item]:E6}");
        Assert.Equal(cell.PerStep.Average(), cell.RelativeChange, 12);
        if (pipeline.Experts.Transformer2 is not null)
            Assert.Equal(new[] { "transformer", "transformer_2" }, proxy.Steps.Select(s => pipeline.ExpertAt(pipeline.Scheduler.Timesteps[s].to(ScalarType.Float64).item<double>())));
    }

    [Fact]
    public void Spearman_matches_a_hand_computation_with_ties()
    {
        Assert.Equal(4.5 / Math.Sqrt(22.5), RankCorrelation.Spearman(new double[] { 1, 2, 2, 3 }, new double[] { 10, 20, 30, 40 }), 12);
        Assert.Equal(-1, RankCorrelation.Spearman(new double[] { 1, 2, 3 }, new double[] { 3, 2, 1 }), 12);
        Assert.Equal(new[] { 2.0, 2.0, 2.0, 4.0 }, RankCorrelation.Ranks(new double[] { 5, 5, 5, 9 }));
        Assert.Throws<VDiTLensException>(() => RankCorrelation.Spearman(new double[] { 1 }, new double[] { 1 }));
    }
}
