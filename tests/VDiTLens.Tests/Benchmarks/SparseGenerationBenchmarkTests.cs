using TorchSharp;
using VDiTLens.Benchmarks;
using VDiTLens.Runtime;
using Xunit.Abstractions;
using static TorchSharp.torch;
using VDiTLens.Attention;

namespace VDiTLens.Tests.Benchmarks;

/// <summary>The sparse-vs-dense generation benchmark on a small Wan of random weights (CPU, float32).</summary>
public sealed class SparseGenerationBenchmarkTests(ITestOutputHelper output)
{
    private static readonly BenchmarkPreset TinyWan = new("wan-test", "WanTransformer3DModel",
        """{"patch_size":[1,2,2],"num_attention_heads":2,"attention_head_dim":32,"in_channels":4,"out_channels":4,"text_dim":16,"freq_dim":16,"ffn_dim":64,"num_layers":2,"cross_attn_norm":true,"qk_norm":"rms_norm_across_heads","eps":1e-6,"rope_max_seq_len":1024}""",
        "32×32, 3 latent frames (48 tokens)",
        (d, t) => new()
        {
            ["hidden_states"] = torch.zeros(new long[] { 1, 4, 3, 8, 8 }, dtype: t, device: d),
            ["timestep"] = torch.tensor(new long[] { 500 }, device: d),
            ["encoder_hidden_states"] = torch.zeros(new long[] { 1, 6, 16 }, dtype: t, device: d),
        });

    private SparseGenerationResult Run(double sparsity)
    {
        TorchRuntime.Initialise();
        var bench = new SparseGenerationBenchmark(TinyWan, new ComputeOptions(torch.CPU, ScalarType.Float32, 0));
        var result = bench.Run(new SparseGenerationSettings(Steps: 2, Sparsity: sparsity, KeyBlock: 8, QueryBlock: 16, Seed: 4));
        output.WriteLine($"sparsity {sparsity}: PSNR {result.LatentPsnrDb:F2} dB, relative L2 {result.LatentRelativeL2:E2}, density {result.Density:F3}");
        Assert.Equal(2, result.DenseStepMs.Length);
        Assert.Equal(2, result.SparseStepMs.Length);
        return result;
    }

    [Fact]
    public void Keeping_every_block_reproduces_the_dense_generation()
    {
        var r = Run(0);
        Assert.Equal(1.0, r.Density, 12);
        Assert.True(r.LatentRelativeL2 < 1e-5, $"relative L2 {r.LatentRelativeL2:E2}");
    }

    [Fact]
    public void Dropping_half_the_key_blocks_changes_the_latents_and_is_measured()
    {
        var r = Run(0.5);
        Assert.Equal(0.5, r.Density, 12); // 6 key blocks of 8 tokens, 3 kept by every query tile
        Assert.True(r.LatentRelativeL2 > 1e-4, $"relative L2 {r.LatentRelativeL2:E2}");
        Assert.True(double.IsFinite(r.LatentPsnrDb));
    }
}
