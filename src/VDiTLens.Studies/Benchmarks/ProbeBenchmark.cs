using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Probes;
using VDiTLens.Runtime;
using VDiTLens.Runtime.Cuda;
using static TorchSharp.torch;

namespace VDiTLens.Benchmarks;

public sealed record ProbeTiming(string What, double MedianMs);

public sealed record ProbeCheck(string What, double RelativeError);

/// <summary>
/// The probes' pieces on one Wan2.1-1.3B-sized self-attention call ([1, 12, 32760, 128], 21 × 30 × 52 grid) and one
/// cross-attention call (512 text keys), timed one by one; and the device paths checked against the float64 CPU
/// blockwise probe on a small call.
/// </summary>
public static class ProbeBenchmark
{
    private static readonly VideoGrid WanGrid = new(21, 30, 52);

    public static IReadOnlyList<ProbeTiming> Time(Device device, ScalarType dtype, int coverageStride, int repeats = 5)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        torch.manual_seed(3);
        long h = 12, d = 128, l = WanGrid.Count;
        var q = torch.randn(new[] { 1, h, l, d }, dtype: dtype, device: device);
        var k = torch.randn(new[] { 1, h, l, d }, dtype: dtype, device: device);
        var text = torch.randn(new[] { 1, h, 512L, d }, dtype: dtype, device: device);
        var k8 = torch.randn(new[] { 1, h, l + 8, d }, dtype: dtype, device: device);
        var video = TokenLayout.Video(WanGrid);
        var self = Call("blocks.0.attn1", AttentionKind.Self, 1 / Math.Sqrt(d), video, video);
        var cross = Call("blocks.0.attn2", AttentionKind.Cross, 1 / Math.Sqrt(d), video, TokenLayout.Text(512));
        var list = new List<ProbeTiming>();
        void Add(string what, Action run) => list.Add(new ProbeTiming(what, Microbenchmark.Median(device, repeats, () =>
        {
            using var s = torch.NewDisposeScope();
            run();
        })));
        var summary = new FusedAttentionSummary();
        var kernel = new TopKCoverage(memoryBudgetBytes: 2L << 30, queryStride: coverageStride);
        var sorted = new TopKCoverage(memoryBudgetBytes: 2L << 30, queryStride: coverageStride) { UseKernel = false };
        Add("self: SDPA, head dim 128 (the model's attention)", () => AttentionKernels.Sdpa(q, k, k, 1 / Math.Sqrt(d)));
        Add("self: SDPA, head dim 128, keys + 8 (each fused pass's shape)", () => AttentionKernels.Sdpa(q, k8, k8, 1 / Math.Sqrt(d)));
        Add("self: fused summary (frame, modality, mass, entropy)", () => summary.Observe(self, q, k, k, q));
        Add($"self: coverage every {coverageStride}th query, radix-select kernel", () => kernel.Observe(self, q, k, k, q));
        Add($"self: coverage every {coverageStride}th query, kernel without warp aggregation", () => WithoutAggregation(() => kernel.Observe(self, q, k, k, q)));
        Add($"self: coverage every {coverageStride}th query, sort", () => sorted.Observe(self, q, k, k, q));
        Add("cross: SDPA (the model's attention)", () => AttentionKernels.Sdpa(q, text, text, 1 / Math.Sqrt(d)));
        Add("cross: fused summary", () => summary.Observe(cross, q, text, text, q));
        Add($"cross: coverage every {coverageStride}th query, kernel", () => kernel.Observe(cross, q, text, text, q));
        return list;
    }

    /// <summary>
    /// The fused summary and coverage in <paramref name="dtype"/> on the device against the float64 blockwise probe on
    /// the CPU (a joint call with key padding), and the coverage kernel against the sort on a Wan-sized sample.
    /// </summary>
    public static IReadOnlyList<ProbeCheck> Check(Device device, ScalarType dtype, int coverageStride)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        torch.manual_seed(7);
        var grid = new VideoGrid(3, 4, 5);
        long b = 2, h = 3, d = 16, lt = 7, l = lt + grid.Count;
        var q = torch.randn(new[] { b, h, l, d }, dtype: ScalarType.Float64) * 1.5;
        var k = torch.randn(new[] { b, h, l, d }, dtype: ScalarType.Float64) * 1.5;
        var valid = torch.ones(b, l, dtype: ScalarType.Bool);
        valid[1, TensorIndex.Slice(lt - 3, lt)] = torch.tensor(false);
        var layout = TokenLayout.Concat(valid, TokenLayout.Text(lt), TokenLayout.Video(grid));
        var call = Call("blocks.0.attn1", AttentionKind.Joint, 0.3, layout, layout, valid.view(b, 1, 1, l));
        var reference = new AttentionMapProbe(new IAttentionStatistic[] { new ReceivedMass(), PooledMap.Frames(), PooledMap.Modalities(), new EntropyCoverage() });
        reference.Observe(call, q, k, k, q);
        using var expected = reference.Results();
        var onDevice = call with { Mask = call.Mask!.to(device) };
        var (qd, kd) = (q.to(dtype).to(device), k.to(dtype).to(device));
        var summary = new FusedAttentionSummary();
        summary.Observe(onDevice, qd, kd, kd, qd);
        var coverage = new TopKCoverage();
        coverage.Observe(onDevice, qd, kd, kd, qd);
        using var actual = ProbeResults.Merge(new[] { summary.Results(), coverage.Results() });
        var checks = new List<ProbeCheck>();
        foreach (var name in new[] { "received_mass", "frame_map", "modality_map", "entropy", "coverage" })
            checks.Add(new ProbeCheck($"{ComputeOptions.NameOf(dtype)} on {device}: {name} vs float64 CPU blockwise", ElementwiseBenchmark.RelativeError(actual[$"blocks.0.attn1.{name}"], expected[$"blocks.0.attn1.{name}"])));

        // The kernel against the sort on Wan-sized rows, at two sharpnesses of attention.
        foreach (double sharpness in new[] { 1.0, 4.0 })
        {
            var qw = (torch.randn(new[] { 1, 12, WanGrid.Count, 128 }, device: device) * sharpness).to(dtype);
            var kw = torch.randn(new[] { 1, 12, WanGrid.Count, 128 }, device: device).to(dtype);
            var logits = torch.matmul(qw.slice(2, 0, WanGrid.Count, coverageStride).to(ScalarType.Float32), kw.to(ScalarType.Float32).transpose(-2, -1)) / Math.Sqrt(128);
            var bySort = new TopKCoverage { UseKernel = false }.Counts(logits);
            foreach (bool aggregate in new[] { true, false })
            {
                Tensor byKernel = null!;
                if (aggregate) byKernel = new TopKCoverage().Counts(logits);
                else WithoutAggregation(() => byKernel = new TopKCoverage().Counts(logits));
                checks.Add(new ProbeCheck($"coverage kernel{(aggregate ? "" : " without warp aggregation")} vs sort, {logits.shape[2]} rows × {WanGrid.Count} keys, logits ×{sharpness} (max |Δcount| {(byKernel - bySort).abs().max().item<float>():F0})",
                    ElementwiseBenchmark.RelativeError(byKernel, bySort)));
            }
        }
        return checks;
    }

    private static void WithoutAggregation(Action run)
    {
        CoverageKernel.WarpAggregation = false;
        try { run(); }
        finally { CoverageKernel.WarpAggregation = true; }
    }

    private static AttentionCall Call(string name, AttentionKind kind, double scale, TokenLayout queries, TokenLayout keys, Tensor? mask = null) =>
        new(new AttentionSite(name, 0, kind, name), new AttentionRunState(), scale, queries, keys, mask);
}
