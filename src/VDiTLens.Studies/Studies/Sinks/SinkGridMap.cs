using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Reports.Charts;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sinks;

/// <summary>Received mass laid out on the video grid: F frames of H×W side by side, one blank column between frames.</summary>
public static class SinkGridMap
{
    /// <param name="massPerKey">[Lk] over the layout's keys (head-averaged).</param>
    /// <returns>[H, F·(W+1) − 1] float64 with NaN in the gaps; null when the keys hold no video segment.</returns>
    public static Tensor? Matrix(Tensor massPerKey, TokenLayout layout)
    {
        if (layout.VideoSegment is not { Grid: { } grid } segment) return null;
        using var scope = torch.NewDisposeScope();
        var video = massPerKey.detach().cpu().to(ScalarType.Float64).narrow(0, segment.Start, segment.Length)
            .reshape(grid.Frames, grid.Height, grid.Width);
        var gap = torch.full(new long[] { grid.Height, 1 }, double.NaN, dtype: ScalarType.Float64);
        var parts = new List<Tensor>();
        for (int f = 0; f < grid.Frames; f++)
        {
            if (f > 0) parts.Add(gap);
            parts.Add(video[f]);
        }
        return torch.cat(parts, 1).MoveToOuterDisposeScope();
    }

    /// <summary>The map as heatmap panels, one per frame, on one colour scale; null when the keys are not video.</summary>
    public static SvgChart? Chart(Tensor massPerKey, TokenLayout layout, string title)
    {
        if (layout.VideoSegment is not { Grid: { } grid } segment) return null;
        using var scope = torch.NewDisposeScope();
        var video = massPerKey.detach().cpu().to(ScalarType.Float64).narrow(0, segment.Start, segment.Length).reshape(grid.Frames, grid.Height, grid.Width);
        return HeatmapChart.Render(new HeatmapSpec
        {
            Panels = Enumerable.Range(0, grid.Frames).Select(f => HeatmapPanel.Of($"frame {f}", video[f])).ToArray(),
            Title = title, RowTitle = "patch row", ColumnTitle = "patch column", ValueTitle = "received mass (mean over queries)",
            PanelsPerRow = Math.Min(grid.Frames, 7),
        });
    }
}
