using System.Diagnostics;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Models.Wan;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Benchmarks;

public sealed record ForwardTiming(string Label, double MedianMs, double[] AllMs);

public sealed record TimeSplit(double AttentionMs, double MatMulMs, double RestMs);

/// <summary>
/// Times one Wan transformer forward at full size with random weights. The split of time between attention,
/// matrix products and the rest is estimated by timing each attention call and each linear layer's GEMM
/// in isolation at the forward's exact shapes; the rest is the difference.
/// </summary>
public sealed class TransformerBenchmark : IDisposable
{
    private readonly ComputeOptions _options;
    private readonly Tensor _latents, _timestep, _text;
    public WanTransformer3DModel Model { get; }
    public WanConfig Config { get; }

    public TransformerBenchmark(WanConfig config, ComputeOptions options, int frames, int height, int width, int textLength)
    {
        _options = options;
        Config = config;
        Model = new WanTransformer3DModel(config, options.Device, options.DType);
        Model.eval();
        _latents = torch.randn(new long[] { 1, config.in_channels, frames, height, width }, dtype: options.DType, device: options.Device);
        _timestep = torch.tensor(new long[] { 500 }, device: options.Device);
        _text = torch.randn(1, textLength, config.text_dim, dtype: options.DType, device: options.Device);
    }

    public long VideoTokens => _latents.shape[2] * _latents.shape[3] / Config.patch_size[1] * _latents.shape[4] / Config.patch_size[2];

    public ForwardTiming Time(string label, int warmup, int repeats)
    {
        using var _ = torch.no_grad();
        for (int i = 0; i < warmup; i++) Model.Forward(_latents, _timestep, _text).Dispose();
        Microbenchmark.Synchronise(_options.Device);
        var all = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            Model.Forward(_latents, _timestep, _text).Dispose();
            Microbenchmark.Synchronise(_options.Device);
            all[i] = sw.Elapsed.TotalMilliseconds;
        }
        var sorted = all.OrderBy(x => x).ToArray();
        return new ForwardTiming(label, sorted[repeats / 2], all);
    }

    public TimeSplit EstimateSplit(double totalMs)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var d = _options.Device;
        var t = _options.DType;
        long n = VideoTokens, dim = Config.InnerDim, heads = Config.num_attention_heads, hd = Config.attention_head_dim;
        long l = _text.shape[1];
        var q = torch.randn(1, heads, n, hd, dtype: t, device: d);
        var kText = torch.randn(1, heads, l, hd, dtype: t, device: d);
        double self = Microbenchmark.Median(d, 5, () => AttentionKernels.Sdpa(q, q, q, 1.0 / Math.Sqrt(hd)).Dispose());
        double cross = Microbenchmark.Median(d, 5, () => AttentionKernels.Sdpa(q, kText, kText, 1.0 / Math.Sqrt(hd)).Dispose());
        var x = torch.randn(n, dim, dtype: t, device: d);
        var xf = torch.randn(n, Config.ffn_dim, dtype: t, device: d);
        var wSquare = torch.randn(dim, dim, dtype: t, device: d);
        var wUp = torch.randn(Config.ffn_dim, dim, dtype: t, device: d);
        var wDown = torch.randn(dim, Config.ffn_dim, dtype: t, device: d);
        double square = Microbenchmark.Median(d, 5, () => nn.functional.linear(x, wSquare).Dispose());
        double up = Microbenchmark.Median(d, 5, () => nn.functional.linear(x, wUp).Dispose());
        double down = Microbenchmark.Median(d, 5, () => nn.functional.linear(xf, wDown).Dispose());
        // Per block: self q,k,v,o (4 square) + cross q,o (2 square) on video tokens, ffn up and down.
        double perBlockMatmul = 6 * square + up + down;
        double attention = Config.num_layers * (self + cross);
        double matmul = Config.num_layers * perBlockMatmul;
        return new TimeSplit(attention, matmul, totalMs - attention - matmul);
    }

    public void Dispose()
    {
        Model.Dispose();
        _latents.Dispose();
        _timestep.Dispose();
        _text.Dispose();
    }
}
