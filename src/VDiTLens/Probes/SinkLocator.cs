using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>A key that receives much attention: where it is and how much it gets.</summary>
public sealed record TopReceiver(long Position, string Location, double Mass, double RatioToMean);

/// <summary>Reads the top receivers out of a received-mass result [B, H, Lk] (head- and batch-averaged).</summary>
public static class SinkLocator
{
    public static IReadOnlyList<TopReceiver> Top(Tensor receivedMass, TokenLayout layout, int count)
    {
        using var scope = torch.NewDisposeScope();
        var mean = receivedMass.to(ScalarType.Float64).mean(new long[] { 0, 1 });
        double average = mean.mean().item<double>();
        var (values, indices) = mean.topk(Math.Min(count, (int)mean.shape[0]));
        var v = values.data<double>().ToArray();
        var i = indices.data<long>().ToArray();
        return v.Select((m, n) => new TopReceiver(i[n], layout.Describe(i[n]), m, average > 0 ? m / average : 0)).ToList();
    }
}
