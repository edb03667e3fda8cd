using TorchSharp;
using VDiTLens.Probes;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Probes;

public sealed class RunningMeanTests
{
    [Fact]
    public void Means_are_exact_across_flushes_and_do_not_alias_the_added_tensors()
    {
        TorchRuntime.Initialise();
        var mean = new RunningMean();
        // Each value is 64 MiB in float64, so the pending sums pass the limit and are flushed several times.
        long n = 8L << 20;
        var values = Enumerable.Range(0, 6).Select(i => torch.full(new[] { n }, (double)i, dtype: ScalarType.Float64)).ToList();
        foreach (var (v, i) in values.Select((v, i) => (v, i)))
            mean.Add(new ProbeGroup(i % 2 == 0 ? "a" : "b"), v);
        Assert.Equal(2.0, values[2][0].item<double>()); // the caller's tensors are unchanged
        using var r = new ProbeResults(mean.Means("x"));
        Assert.Equal(2.0, r["a.x"][0].item<float>()); // (0 + 2 + 4) / 3
        Assert.Equal(3.0, r["b.x"][n - 1].item<float>()); // (1 + 3 + 5) / 3
        Assert.Equal(3, mean.Count(new ProbeGroup("a")));
        mean.Add(new ProbeGroup("a"), torch.full(new[] { n }, 10.0, dtype: ScalarType.Float64));
        Assert.Equal(4.0, mean.Means("x").First(r => r.Key.Site == "a").Value![0].item<float>()); // (0 + 2 + 4 + 10) / 4
    }

    [Fact]
    public void A_value_of_another_shape_is_rejected()
    {
        TorchRuntime.Initialise();
        var mean = new RunningMean();
        mean.Add(new ProbeGroup("a"), torch.zeros(3));
        Assert.Throws<VDiTLensException>(() => mean.Add(new ProbeGroup("a"), torch.zeros(4)));
    }
}
