using TorchSharp;
using VDiTLens.Probes;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Runtime.Cuda;

public sealed class CoverageKernelEmulationTests
{
    private static readonly float[] Levels = EntropyCoverage.Levels.Select(l => (float)l).ToArray();

    [Theory]
    [InlineData(1.0, 0.088)]   // near-uniform rows: coverage in the thousands
    [InlineData(4.0, 0.088)]
    [InlineData(1.0, 1.0)]     // sharp rows: a few keys
    public void Matches_the_sort_on_random_rows(double sharpness, double scale)
    {
        TorchRuntime.Initialise();
        torch.manual_seed(11);
        var logits = torch.randn(new long[] { 16, 4096 }) * (sharpness * 11.3);
        logits[3, TensorIndex.Slice(0, 1000)] = torch.tensor(float.NegativeInfinity); // masked keys
        var bySort = new TopKCoverage { UseKernel = false }.Counts(logits.to(ScalarType.Float64), scale);
        var rows = logits.data<float>().ToArray().Chunk(4096).ToArray();
        var emulated = torch.tensor(rows.SelectMany(r => CoverageKernelEmulation.Counts(r, (float)scale, Levels)).ToArray()).view(16, 4);
        var delta = (emulated.to(ScalarType.Float64) - bySort).abs();
        // float32 mass sums against the float64 sort: a level landing within rounding can move by one key.
        Assert.True(delta.max().item<double>() <= 1, $"max |Δcount| {delta.max().item<double>()}");
        Assert.True(delta.sum().item<double>() <= 3, $"Σ|Δcount| {delta.sum().item<double>()}");
        Assert.True(bySort.max().item<double>() > 2);
    }

    [Fact]
    public void Resolves_ties_at_the_threshold_and_applies_the_scale()
    {
        // p = [0.4, 0.2, 0.2, 0.2] after scaling by 2: 0.5 needs 2 keys, 0.9 needs 4.
        var row = new[] { MathF.Log(0.4f) / 2, MathF.Log(0.2f) / 2, MathF.Log(0.2f) / 2, MathF.Log(0.2f) / 2 };
        Assert.Equal(new[] { 2f, 4f, 4f, 4f }, CoverageKernelEmulation.Counts(row, 2f, Levels));
        // Seven equal keys (1/7 each) and two masked ones: ⌈3.5⌉, ⌈6.3⌉, ⌈6.65⌉, ⌈6.93⌉ of the tied keys.
        var tiedRow = Enumerable.Repeat(0.7f, 7).Concat(new[] { float.NegativeInfinity, float.NegativeInfinity }).ToArray();
        Assert.Equal(new[] { 4f, 7f, 7f, 7f }, CoverageKernelEmulation.Counts(tiedRow, 1f, Levels));
    }
}
