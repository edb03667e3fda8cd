using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Runtime;

public sealed record KernelTiming(string Name, string Shape, double MedianMs, double TeraFlops);

/// <summary>Measures matmul and attention throughput on a device (median of repeated, synchronised runs).</summary>
public static class Microbenchmark
{
    public static KernelTiming MatMul(Device device, ScalarType dtype, long n, int repeats = 10)
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.randn(n, n, dtype: dtype, device: device);
        var b = torch.randn(n, n, dtype: dtype, device: device);
        double ms = Median(device, repeats, () => torch.matmul(a, b).Dispose());
        return new KernelTiming($"matmul {ComputeOptions.NameOf(dtype)}", $"{n}³", ms, 2.0 * n * n * n / (ms * 1e-3) / 1e12);
    }

    public static KernelTiming Attention(Device device, ScalarType dtype, long heads, long tokens, long headDim, int repeats = 5)
    {
        using var scope = torch.NewDisposeScope();
        var q = torch.randn(1, heads, tokens, headDim, dtype: dtype, device: device);
        var k = torch.randn(1, heads, tokens, headDim, dtype: dtype, device: device);
        var v = torch.randn(1, heads, tokens, headDim, dtype: dtype, device: device);
        double ms = Median(device, repeats, () => nn.functional.scaled_dot_product_attention(q, k, v).Dispose());
        double flops = 4.0 * heads * tokens * tokens * headDim;
        return new KernelTiming($"scaled_dot_product_attention {ComputeOptions.NameOf(dtype)}",
            $"[1, {heads}, {tokens}, {headDim}]", ms, flops / (ms * 1e-3) / 1e12);
    }

    /// <summary>Median wall time in ms after two warm-up runs, synchronising the device around each run.</summary>
    public static double Median(Device device, int repeats, Action run)
    {
        for (int i = 0; i < 2; i++) run();
        Synchronise(device);
        var times = new List<double>();
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            run();
            Synchronise(device);
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }

    public static void Synchronise(Device device)
    {
        if (device.type == DeviceType.CUDA) torch.cuda.synchronize(device);
    }
}
