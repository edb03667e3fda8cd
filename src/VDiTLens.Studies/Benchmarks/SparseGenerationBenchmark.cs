using System.Diagnostics;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Attention.BlockSparse;
using VDiTLens.Interventions;
using VDiTLens.Interventions.Sparsity;
using VDiTLens.Metrics;
using VDiTLens.Models.Common;
using VDiTLens.Runtime;
using VDiTLens.Schedulers;
using static TorchSharp.torch;

namespace VDiTLens.Benchmarks;

/// <summary>Settings of a sparse-vs-dense generation: block_topk through the gather path on every self-attention call.</summary>
public sealed record SparseGenerationSettings(int Steps, double Sparsity, int KeyBlock, int QueryBlock, ulong Seed = 0, double Shift = 3.0);

/// <summary>Per-step times (ms) of one generation and its final latents (float32, on the CPU).</summary>
public sealed record GenerationRun(double[] StepMs, Tensor Latents)
{
    public double TotalMs => StepMs.Sum();
    public double MedianStepMs => StepMs.OrderBy(x => x).ElementAt(StepMs.Length / 2);
}

/// <summary>
/// Dense and block-sparse runs of the same seed and their difference: latent PSNR (data range = the dense latents' max −
/// min) and relative L2, with the density the sparse path applied.
/// </summary>
public sealed record SparseGenerationResult(SparseGenerationSettings Settings, double[] DenseStepMs, double[] SparseStepMs,
    double LatentPsnrDb, double LatentRelativeL2, double Density)
{
    public double DenseMs => DenseStepMs.Sum();
    public double SparseMs => SparseStepMs.Sum();
    public double Speedup => DenseMs / SparseMs;
}

/// <summary>
/// End-to-end sparse-vs-dense generation with a Wan transformer of random weights at full size (a <see cref="BenchmarkPreset"/>):
/// Gaussian latents and text embeddings from one seed, flow-matching Euler steps, no guidance, no VAE (the comparison is on
/// the final latents). Each run is preceded by one untimed step (kernel compilation, autotuning).
/// </summary>
public sealed class SparseGenerationBenchmark(BenchmarkPreset preset, ComputeOptions options)
{
    public SparseGenerationResult Run(SparseGenerationSettings settings, Action<string>? log = null)
    {
        if (settings.Steps < 1) throw new VDiTLensException($"--generation-steps must be at least 1 (got {settings.Steps})");
        if (!preset.Name.StartsWith("wan", StringComparison.Ordinal))
            throw new VDiTLensException($"the sparse generation benchmark drives Wan presets only (got '{preset.Name}')");
        using var _ = torch.no_grad();
        using var model = TransformerLoader.CreateRandom(preset.ConfigFolder(), options);
        using var shapes = new DisposableInputs(preset.Inputs(torch.CPU, ScalarType.Float32));
        using var generator = new Generator(settings.Seed);
        using var noise = torch.randn(shapes.Tensors["hidden_states"].shape, generator: generator).to(options.Device);
        using var text = torch.randn(shapes.Tensors["encoder_hidden_states"].shape, generator: generator).to(options.Device).to(options.DType);

        var dense = Generate(model, noise, text, settings.Steps, settings.Shift);
        log?.Invoke($"dense: {dense.TotalMs:F0} ms ({string.Join(" / ", dense.StepMs.Select(x => x.ToString("F0")))})");
        var sparsifier = new BlockTopKAttention(new BlockTopKSelection(settings.KeyBlock, settings.QueryBlock, settings.Sparsity),
            new AttentionSelector { Sites = new[] { "self" } });
        GenerationRun sparse;
        using (model.Seam.Attach(sparsifier))
            sparse = Generate(model, noise, text, settings.Steps, settings.Shift);
        double density = model.Sites.Where(s => s.Kind == AttentionKind.Self).Average(s => sparsifier.Density.Of(s.Name));
        log?.Invoke($"sparse: {sparse.TotalMs:F0} ms ({string.Join(" / ", sparse.StepMs.Select(x => x.ToString("F0")))}), density {density:F3}");
        using var d = dense.Latents;
        using var s = sparse.Latents;
        double range = (d.max() - d.min()).item<float>();
        return new SparseGenerationResult(settings, dense.StepMs, sparse.StepMs, Psnr.MeanOverVideos(d, s, range), RelativeL2.Of(d, s), density);
    }

    private GenerationRun Generate(IVideoTransformer model, Tensor noise, Tensor text, int steps, double shift)
    {
        var scheduler = new FlowMatchEulerDiscreteScheduler(new FlowMatchEulerDiscreteConfig { shift = shift });
        scheduler.SetTimesteps(steps);
        Step(model, scheduler, noise, text, 0).Dispose(); // warm-up
        Microbenchmark.Synchronise(options.Device);
        var times = new double[steps];
        var latents = noise.clone();
        for (int i = 0; i < steps; i++)
        {
            var sw = Stopwatch.StartNew();
            var next = Step(model, scheduler, latents, text, i);
            Microbenchmark.Synchronise(options.Device);
            times[i] = sw.Elapsed.TotalMilliseconds;
            latents.Dispose();
            latents = next;
        }
        var result = latents.cpu();
        latents.Dispose();
        return new GenerationRun(times, result);
    }

    private Tensor Step(IVideoTransformer model, IScheduler scheduler, Tensor latents, Tensor text, int i)
    {
        using var scope = torch.NewDisposeScope();
        model.Seam.State.Step = i;
        var t = scheduler.Timesteps[i];
        model.Seam.State.Timestep = t.to(ScalarType.Float64).item<double>();
        var inputs = new Dictionary<string, Tensor>
        {
            ["hidden_states"] = latents.to(options.DType),
            ["timestep"] = t.expand(latents.shape[0]).to(options.Device),
            ["encoder_hidden_states"] = text,
        };
        var prediction = model.Forward(inputs).to(ScalarType.Float32);
        return scheduler.Step(prediction, i, latents).MoveToOuterDisposeScope();
    }

    private sealed class DisposableInputs(Dictionary<string, Tensor> tensors) : IDisposable
    {
        public Dictionary<string, Tensor> Tensors { get; } = tensors;
        public void Dispose()
        {
            foreach (var t in Tensors.Values) t.Dispose();
        }
    }
}
