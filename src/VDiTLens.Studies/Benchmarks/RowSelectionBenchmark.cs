using System.Diagnostics;
using TorchSharp;
using VDiTLens.Interventions.Sparsity;
using VDiTLens.Runtime;
using VDiTLens.Runtime.Cuda;
using static TorchSharp.torch;

namespace VDiTLens.Benchmarks;

/// <summary>
/// Per-chunk median times (ms) of the bottom-m mask of <see cref="RowSelection"/> over [rows, keys] float32
/// probabilities: the selection kernel (<see cref="KernelMs"/>), the TorchSharp reference with one m for every row
/// (kthvalue, <see cref="KthValueMs"/>) and with m varying per row (topk, <see cref="TopKMs"/>), and a full stable sort
/// (<see cref="SortMs"/>: sort, ranks, rank &lt; m). <see cref="CallMs"/>: the kernel over a whole attention call
/// (heads × keys rows, chunk by chunk), measured; the other paths' per-call time is their chunk time × <see cref="Chunks"/>.
/// <see cref="Mismatches"/>: mask entries where the kernel differs from the sort (both m layouts).
/// </summary>
public sealed record RowSelectionTiming(long Heads, long Keys, long ChunkRows, long Chunks, double KernelMs, double KthValueMs, double TopKMs,
    double SortMs, double CallMs, long Mismatches, string KernelPath);

/// <summary>Times the bottom-m selection at one attention call's size, one chunk of query rows at a time.</summary>
public sealed class RowSelectionBenchmark(Device device)
{
    public RowSelectionTiming Run(long heads, long keys, long chunkRows, double sparsity, int repeats)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        long rows = heads * keys, chunks = (rows + chunkRows - 1) / chunkRows;
        // Two chunks of softmax rows, alternated, so that no timing re-reads a chunk still in L2.
        var sets = Enumerable.Range(0, 2).Select(_ => torch.softmax(torch.randn(chunkRows, keys, device: device) * 3, -1)).ToArray();
        var uniform = torch.full(new long[] { chunkRows, 1 }, (long)Math.Floor(keys * sparsity), device: device);
        var varying = torch.randint(keys / 4, keys - keys / 4, new long[] { chunkRows, 1 }, device: device);
        int turn = 0;
        Tensor Next() => sets[turn++ % sets.Length];
        double Time(Func<Tensor, Tensor> f) => Microbenchmark.Median(device, repeats, () => { using var s = torch.NewDisposeScope(); f(Next()); });
        double kernel = Time(v => RowSelection.Smallest(v, uniform));
        double kth = Time(v => RowSelection.Reference(v, uniform));
        double topk = Time(v => RowSelection.Reference(v, varying));
        double sort = Time(v => RowRanks.Of(v, descending: false) < uniform);
        long mismatches = 0;
        foreach (var m in new[] { uniform, varying })
            mismatches += RowSelection.Smallest(sets[0], m).ne(RowRanks.Of(sets[0], descending: false) < m).sum().item<long>();
        Microbenchmark.Synchronise(device);
        var sw = Stopwatch.StartNew();
        for (long c = 0; c < chunks; c++)
        {
            using var s = torch.NewDisposeScope();
            RowSelection.Smallest(sets[c % 2], uniform);
        }
        Microbenchmark.Synchronise(device);
        double call = sw.Elapsed.TotalMilliseconds;
        string path = RowSmallestKernel.Supports(sets[0]) && !KernelCache.HasFailed(KernelCache.DeviceOf(sets[0]), RowSmallestKernel.Variant) ? "kernel" : "reference";
        return new RowSelectionTiming(heads, keys, chunkRows, chunks, kernel, kth, topk, sort, call, mismatches, path);
    }
}
