using VDiTLens.Attention;

namespace VDiTLens.Studies.Maps;

/// <summary>
/// The shape and meaning of a captured map: the call it came from, the selected query and key positions, and the
/// pooled size (rows = ⌈queries / pool⌉, columns = ⌈keys / pool⌉; a ragged last group is the mean of what it holds).
/// </summary>
public sealed record MapGeometry(
    string Site, int Step, string Branch, int BatchRow, int? Head, int Pool,
    long[] QueryPositions, long[] KeyPositions, TokenLayout QueryLayout, TokenLayout KeyLayout)
{
    public long Rows => (QueryPositions.Length + Pool - 1) / Pool;
    public long Columns => (KeyPositions.Length + Pool - 1) / Pool;

    public string HeadLabel => Head is { } h ? $"head {h}" : "mean over heads";

    /// <summary>Map coordinates (row or column, fractional) where a new latent frame starts among the given positions.</summary>
    public static IReadOnlyList<(double At, int Frame)> FrameStarts(long[] positions, TokenLayout layout, int pool)
    {
        var result = new List<(double, int)>();
        if (layout.VideoSegment is not { Grid: { } g } video) return result;
        long hw = (long)g.Height * g.Width;
        int previous = -1;
        for (int i = 0; i < positions.Length; i++)
        {
            long p = positions[i] - video.Start;
            if (p < 0 || p >= video.Length) { previous = -1; continue; }
            int frame = (int)(p / hw);
            if (frame != previous) result.Add(((double)i / pool, frame));
            previous = frame;
        }
        return result;
    }
}

/// <summary>Receives a map row block by block, top to bottom, never the whole map at once.</summary>
public interface IMapSink
{
    void Begin(MapGeometry geometry);
    /// <summary>Rows [r, columns] float32 or float64 on the CPU, in order.</summary>
    void Append(TorchSharp.torch.Tensor rows);
    void End();
}
