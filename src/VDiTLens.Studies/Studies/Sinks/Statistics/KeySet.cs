using VDiTLens.Attention;

namespace VDiTLens.Studies.Sinks.Statistics;

/// <summary>A named set of key positions whose attention is counted together (a frame, the padding rows, a cluster).</summary>
public sealed record KeySet(string Name, IReadOnlyList<int> Keys)
{
    /// <summary>Every video patch of frame <paramref name="frame"/>; null when the layout has no video grid.</summary>
    public static KeySet? Frame(TokenLayout layout, int frame)
    {
        if (layout.VideoSegment is not { Grid: { } grid } video) return null;
        if (frame < 0 || frame >= grid.Frames) throw new VDiTLensException($"frame {frame} is outside a grid of {grid.Frames} frames");
        long hw = (long)grid.Height * grid.Width;
        return new KeySet($"frame {frame}", Enumerable.Range(0, (int)hw).Select(i => (int)(video.Start + frame * hw + i)).ToArray());
    }
}

/// <summary>
/// Attention a key set receives together, per head, against its uniform share |S| / (valid keys): a sink spread over
/// many keys (first-frame patches, identical padding keys) shows here while no single key stands out.
/// </summary>
/// <param name="UniformShare">|S ∩ valid| / valid keys: what the set would get under uniform attention.</param>
/// <param name="MeanMass">Set mass averaged over heads.</param>
/// <param name="MaxMass">The largest set mass of any head.</param>
public sealed record SetMass(string Name, int Size, double UniformShare, double MeanMass, double MaxMass, int MaxHead)
{
    /// <summary>Mean set mass ÷ its uniform share (1 = no preference). For a fixed share it does not depend on length.</summary>
    public double MeanOverUniform => UniformShare > 0 ? MeanMass / UniformShare : double.NaN;

    public static SetMass Of(HeadMassMatrix m, KeySet set)
    {
        var keys = set.Keys.Where(j => j >= 0 && j < m.Keys && m.IsValid(j)).Distinct().ToArray();
        var perHead = m.Mass.Select(row => keys.Sum(j => row[j])).ToArray();
        int maxHead = Array.IndexOf(perHead, perHead.Max());
        return new SetMass(set.Name, keys.Length, (double)keys.Length / m.ValidKeys, perHead.Average(), perHead[maxHead], maxHead);
    }
}
