using System.Diagnostics;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using VDiTLens.Models.Wan;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Benchmarks;

public sealed record ForwardTiming(string Label, double MedianMs, double[] AllMs);

public sealed record TimeSplit(double AttentionMs, double MatMulMs, double RestMs);

/// <summary>Times one transformer forward at full size with random weights (median of synchronised runs).</summary>
public sealed class TransformerBenchmark : IDisposable
{
    private readonly ComputeOptions _options;
    private readonly Dictionary<string, Tensor> _inputs;
    public IVideoTransformer Model { get; }
    public BenchmarkPreset Preset { get; }

    public TransformerBenchmark(BenchmarkPreset preset, ComputeOptions options)
    {
        _options = options;
        Preset = preset;
        Model = TransformerLoader.CreateRandom(preset.ConfigFolder(), options);
        _inputs = preset.Inputs(options.Device, options.DType);
    }

    public ForwardTiming Time(string label, int warmup, int repeats)
    {
        using var _ = torch.no_grad();
        for (int i = 0; i < warmup; i++) Model.Forward(_inputs).Dispose();
        Microbenchmark.Synchronise(_options.Device);
        var all = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            Model.Forward(_inputs).Dispose();
            Microbenchmark.Synchronise(_options.Device);
            all[i] = sw.Elapsed.TotalMilliseconds;
        }
        var sorted = all.OrderBy(x => x).ToArray();
        return new ForwardTiming(label, sorted[repeats / 2], all);
    }

    /// <summary>
    /// Wan only: attention and GEMM time estimated by timing each attention call and each linear layer's GEMM
    /// in isolation at the forward's exact shapes; the rest is the difference.
    /// </summary>
    public TimeSplit? EstimateSplit(double totalMs)
    {
        if (Model is not WanTransformer3DModel wan) return null;
        var c = wan.Config;
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var d = _options.Device;
        var t = _options.DType;
        var latents = _inputs["hidden_states"];
        long n = latents.shape[2] * latents.shape[3] / c.patch_size[1] * latents.shape[4] / c.patch_size[2];
        long dim = c.InnerDim, heads = c.num_attention_heads, hd = c.attention_head_dim, l = _inputs["encoder_hidden_states"].shape[1];
        var q = torch.randn(new[] { 1, heads, n, hd }, dtype: t, device: d);
        var kText = torch.randn(new[] { 1, heads, l, hd }, dtype: t, device: d);
        double self = Microbenchmark.Median(d, 5, () => AttentionKernels.Sdpa(q, q, q, 1.0 / Math.Sqrt(hd)).Dispose());
        double cross = Microbenchmark.Median(d, 5, () => AttentionKernels.Sdpa(q, kText, kText, 1.0 / Math.Sqrt(hd)).Dispose());
        var x = torch.randn(n, dim, dtype: t, device: d);
        var xf = torch.randn(n, c.ffn_dim, dtype: t, device: d);
        var wSquare = torch.randn(dim, dim, dtype: t, device: d);
        var wUp = torch.randn(c.ffn_dim, dim, dtype: t, device: d);
        var wDown = torch.randn(dim, c.ffn_dim, dtype: t, device: d);
        double square = Microbenchmark.Median(d, 5, () => nn.functional.linear(x, wSquare).Dispose());
        double up = Microbenchmark.Median(d, 5, () => nn.functional.linear(x, wUp).Dispose());
        double down = Microbenchmark.Median(d, 5, () => nn.functional.linear(xf, wDown).Dispose());
        // Per block: self q,k,v,o (4 square) + cross q,o (2 square) on video tokens, ffn up and down.
        double attention = c.num_layers * (self + cross);
        double matmul = c.num_layers * (6 * square + up + down);
        return new TimeSplit(attention, matmul, totalMs - attention - matmul);
    }

    public void Dispose()
    {
        Model.Dispose();
        foreach (var t in _inputs.Values) t.Dispose();
    }
}
