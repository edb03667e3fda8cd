using VDiTLens.Attention;

namespace VDiTLens.Reports.Explorer;

/// <summary>
/// What the report's attention explorer captures during a run. Maps (frame, tile, modality, received mass) are kept
/// per head, step and batch row at <see cref="Steps"/> only; attention rows of a grid of
/// <see cref="Queries"/> × <see cref="Queries"/> video queries per frame are kept at the same steps, head-averaged and,
/// at <see cref="HeadRowSites"/>, per head.
/// </summary>
public sealed record ExplorerOptions
{
    /// <summary>Denoising steps to capture; empty = the first and the last step.</summary>
    public IReadOnlyList<int> Steps { get; init; } = Array.Empty<int>();
    /// <summary>Queries per frame side: a Queries × Queries grid of patch positions, centred in equal cells.</summary>
    public int Queries { get; init; } = 2;
    /// <summary>Site patterns as in <see cref="AttentionSelector.Sites"/>; empty = every self-, joint- and cross-attention site.</summary>
    public IReadOnlyList<string> Sites { get; init; } = Array.Empty<string>();
    /// <summary>Of the captured sites, those whose rows are also kept per head: patterns; empty = all; <c>[none]</c> = none.</summary>
    public IReadOnlyList<string> HeadRowSites { get; init; } = Array.Empty<string>();
    /// <summary>Spatial tile of the tile map, in patches.</summary>
    public int TileSize { get; init; } = 4;
    /// <summary>Shown frames are downscaled to at most this width in pixels.</summary>
    public int MaxFrameWidth { get; init; } = 256;
    public bool Enabled { get; init; } = true;

    public static ExplorerOptions Default { get; } = new();

    /// <summary>The <see cref="HeadRowSites"/> entry that keeps no per-head rows.</summary>
    public const string NoSites = "none";

    /// <summary>
    /// The sites captured: <see cref="Sites"/>, or every self-, joint- and cross-attention site (a cross site adds
    /// only its queries' rows over the text or image keys, a small part of a self-attention site's data).
    /// </summary>
    public IReadOnlyList<string> SitePatterns => Sites.Count > 0 ? Sites : new[] { "self", "joint", "cross" };

    /// <summary>The captured steps of a run of <paramref name="total"/> steps, checked against it.</summary>
    public IReadOnlyList<int> ResolveSteps(int total)
    {
        if (total < 1) throw new VDiTLensException($"explorer: a run of {total} denoising steps has nothing to capture");
        if (Steps.Count == 0) return new[] { 0, total - 1 }.Distinct().ToArray();
        foreach (int s in Steps)
            if (s < 0 || s >= total)
                throw new VDiTLensException($"explorer steps: step {s} is outside the run's 0..{total - 1}; choose steps in that range");
        return Steps.Distinct().Order().ToArray();
    }

    /// <summary>Query token positions: for each frame, a Queries × Queries grid of patch centres (frame-major order).</summary>
    public long[] QueryPositions(TokenLayout layout)
    {
        if (Queries < 1) throw new VDiTLensException($"explorer queries per frame side must be at least 1 (got {Queries})");
        if (layout.VideoSegment is not { Grid: { } g } video)
            throw new VDiTLensException("explorer: the query layout has no video grid to place queries on");
        var cells = QueryCells(g);
        return cells.Select(c => video.Start + ((long)c.Frame * g.Height + c.Y) * g.Width + c.X).ToArray();
    }

    /// <summary>(frame, row, column) of each query on the patch grid, in the order of <see cref="QueryPositions"/>.</summary>
    public IReadOnlyList<(int Frame, int Y, int X)> QueryCells(VideoGrid g)
    {
        int ny = Math.Min(Queries, g.Height), nx = Math.Min(Queries, g.Width);
        var list = new List<(int, int, int)>();
        for (int f = 0; f < g.Frames; f++)
            for (int i = 0; i < ny; i++)
                for (int j = 0; j < nx; j++)
                    list.Add((f, (2 * i + 1) * g.Height / (2 * ny), (2 * j + 1) * g.Width / (2 * nx)));
        return list;
    }
}
