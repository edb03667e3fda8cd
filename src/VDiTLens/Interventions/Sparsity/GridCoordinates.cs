using VDiTLens.Attention;

namespace VDiTLens.Interventions.Sparsity;

/// <summary>(frame, y, x) of every position of a layout's video segment; -1 for text and other tokens.</summary>
internal sealed record GridCoordinates(VideoGrid Grid, long[] Frame, long[] Y, long[] X)
{
    public static GridCoordinates? Of(TokenLayout layout)
    {
        if (layout.VideoSegment is not { Grid: { } g } video) return null;
        long n = layout.Length, hw = (long)g.Height * g.Width;
        var (f, y, x) = (Filled(n), Filled(n), Filled(n));
        for (long i = 0; i < video.Length; i++)
        {
            f[video.Start + i] = i / hw;
            y[video.Start + i] = i % hw / g.Width;
            x[video.Start + i] = i % g.Width;
        }
        return new GridCoordinates(g, f, y, x);
    }

    /// <summary>Query and key coordinates of a call when both sides are video on the same grid; null when either has no video.</summary>
    public static (GridCoordinates Queries, GridCoordinates Keys)? OfCall(AttentionCall call, string sparsifier)
    {
        var (q, k) = (Of(call.QueryLayout), Of(call.KeyLayout));
        if (q is null || k is null) return null;
        if (q.Grid != k.Grid)
            throw new VDiTLensException($"{sparsifier} needs queries and keys on the same video grid at site {call.Site.Name} ({q.Grid} vs {k.Grid}); restrict its 'sites' to self or joint attention");
        return (q, k);
    }

    private static long[] Filled(long n) => Enumerable.Repeat(-1L, (int)n).ToArray();
}
