using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sinks.Statistics;

/// <summary>
/// Received mass of one attention site: for each head, the attention each key receives averaged over the queries
/// (float64), with which keys are valid (not padding). Every sink statistic is computed from this.
/// </summary>
public sealed class HeadMassMatrix
{
    public double[][] Mass { get; }
    /// <summary>True where a key is real; null when every key is.</summary>
    public bool[]? Valid { get; }

    public HeadMassMatrix(double[][] mass, bool[]? valid = null)
    {
        if (mass.Length == 0) throw new VDiTLensException("received mass has no heads");
        int keys = mass[0].Length;
        if (mass.Any(h => h.Length != keys)) throw new VDiTLensException("received mass: every head must have as many keys");
        if (valid is not null && valid.Length != keys) throw new VDiTLensException($"valid-key mask has {valid.Length} entries for {keys} keys");
        Mass = mass;
        Valid = valid;
    }

    public int Heads => Mass.Length;
    public int Keys => Mass[0].Length;
    public int ValidKeys => Valid is null ? Keys : Valid.Count(v => v);
    public bool IsValid(int key) => Valid is null || Valid[key];

    /// <summary>From a [H, Lk] or [B, H, Lk] tensor (batch rows averaged).</summary>
    public static HeadMassMatrix From(Tensor receivedMass, bool[]? valid = null)
    {
        using var scope = torch.NewDisposeScope();
        var m = receivedMass.detach().cpu().to(ScalarType.Float64);
        if (m.dim() == 3) m = m.mean(new long[] { 0 });
        if (m.dim() != 2) throw new VDiTLensException($"received mass must be [batch, heads, keys] or [heads, keys]; got [{string.Join(", ", receivedMass.shape)}]");
        int heads = (int)m.shape[0], keys = (int)m.shape[1];
        var flat = m.contiguous().data<double>().ToArray();
        return new HeadMassMatrix(Enumerable.Range(0, heads).Select(h => flat.AsSpan(h * keys, keys).ToArray()).ToArray(), valid);
    }

    /// <summary>Element-wise mean of several matrices of the same shape (e.g. over steps or runs).</summary>
    public static HeadMassMatrix Mean(IReadOnlyList<HeadMassMatrix> all)
    {
        if (all.Count == 0) throw new VDiTLensException("no received-mass matrices to average");
        var mean = new double[all[0].Heads][];
        for (int h = 0; h < mean.Length; h++)
        {
            mean[h] = new double[all[0].Keys];
            foreach (var m in all)
                for (int j = 0; j < mean[h].Length; j++) mean[h][j] += m.Mass[h][j] / all.Count;
        }
        return new HeadMassMatrix(mean, all[0].Valid);
    }

    /// <summary>Mass averaged over heads, per key.</summary>
    public double[] HeadMean()
    {
        var mean = new double[Keys];
        foreach (var row in Mass)
            for (int j = 0; j < Keys; j++) mean[j] += row[j] / Heads;
        return mean;
    }
}
