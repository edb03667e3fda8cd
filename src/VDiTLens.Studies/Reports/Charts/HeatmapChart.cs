using TorchSharp;
using VDiTLens.IO.Video;
using static TorchSharp.torch;

namespace VDiTLens.Reports.Charts;

/// <summary>One matrix of a heatmap figure (several panels share axes and one colour scale).</summary>
public sealed record HeatmapPanel(string? Title, double[,] Values)
{
    /// <summary>A panel from a 2D tensor (any dtype/device).</summary>
    public static HeatmapPanel Of(string? title, Tensor matrix)
    {
        using var scope = torch.NewDisposeScope();
        var m = matrix.detach().cpu().to(ScalarType.Float64).contiguous();
        if (m.dim() != 2) throw new VDiTLensException($"heatmap panel '{title}' needs a 2D matrix, got [{string.Join(", ", m.shape)}]");
        int rows = (int)m.shape[0], cols = (int)m.shape[1];
        var flat = m.data<double>().ToArray();
        var values = new double[rows, cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) values[r, c] = flat[r * cols + c];
        return new HeatmapPanel(title, values);
    }
}

/// <summary>What a heatmap shows: panels, axis titles and tick labels, the colour bar's title (with unit) and range.</summary>
public sealed record HeatmapSpec
{
    public required IReadOnlyList<HeatmapPanel> Panels { get; init; }
    public string? Title { get; init; }
    /// <summary>Axis titles: rows run down the y axis, columns along the x axis.</summary>
    public required string RowTitle { get; init; }
    public required string ColumnTitle { get; init; }
    /// <summary>Tick labels per row/column; default the indices 0, 1, ….</summary>
    public IReadOnlyList<string>? RowLabels { get; init; }
    public IReadOnlyList<string>? ColumnLabels { get; init; }
    /// <summary>Title of the colour bar, with the unit.</summary>
    public required string ValueTitle { get; init; }
    /// <summary>Colour range; default 0 (or the data minimum when it is negative) to the data maximum.</summary>
    public double? Min { get; init; }
    public double? Max { get; init; }
    /// <summary>Cell edge in pixels; default about 280 pixels over the longer side of a single panel.</summary>
    public double? CellSize { get; init; }
    public int PanelsPerRow { get; init; } = 6;
}

/// <summary>
/// Heatmaps as SVG: labelled axes with thinned tick labels, a viridis colour bar with nice ticks, a tooltip per cell
/// (row, column, value), NaN cells light grey. Figures over <see cref="MaxCellElements"/> cells in all are drawn as
/// embedded pixel images instead of one element per cell (the values are in the linked data file).
/// </summary>
public static class HeatmapChart
{
    public const int MaxCellElements = 6000;
    private const double LabelGap = 4, TickLength = 3;
    // Adjacent cells and colour-bar bands without anti-aliased seams between them.
    private const string Crisp = "shape-rendering=\"crispEdges\"";

    public static SvgChart Render(HeatmapSpec spec)
    {
        if (spec.Panels.Count == 0) throw new VDiTLensException($"heatmap '{spec.Title}' has no panels");
        int rows = spec.Panels[0].Values.GetLength(0), cols = spec.Panels[0].Values.GetLength(1);
        if (rows == 0 || cols == 0) throw new VDiTLensException($"heatmap '{spec.Title}' has an empty matrix ({rows}×{cols})");
        foreach (var p in spec.Panels)
            if (p.Values.GetLength(0) != rows || p.Values.GetLength(1) != cols)
                throw new VDiTLensException($"heatmap '{spec.Title}': panel '{p.Title}' is {p.Values.GetLength(0)}×{p.Values.GetLength(1)}, the first is {rows}×{cols}");
        var rowLabels = spec.RowLabels ?? Enumerable.Range(0, rows).Select(i => i.ToString()).ToArray();
        var colLabels = spec.ColumnLabels ?? Enumerable.Range(0, cols).Select(i => i.ToString()).ToArray();
        if (rowLabels.Count != rows || colLabels.Count != cols)
            throw new VDiTLensException($"heatmap '{spec.Title}': {rowLabels.Count} row and {colLabels.Count} column labels for a {rows}×{cols} matrix");

        var finite = spec.Panels.SelectMany(p => p.Values.Cast<double>()).Where(double.IsFinite).DefaultIfEmpty(0).ToArray();
        double lo = spec.Min ?? Math.Min(0, finite.Min()), hi = spec.Max ?? finite.Max();
        if (!(hi > lo)) hi = lo + (lo == 0 ? 1 : Math.Abs(lo) * 0.1);

        int perRow = Math.Clamp(spec.PanelsPerRow, 1, spec.Panels.Count);
        int gridRows = (spec.Panels.Count + perRow - 1) / perRow;
        double target = spec.Panels.Count == 1 ? 280 : Math.Max(64, 600.0 / perRow);
        double cell = spec.CellSize ?? Math.Clamp(target / Math.Max(rows, cols), 1, 56);
        double pw = cols * cell, ph = rows * cell;

        // Tick labels: every k-th, k a nice step, so labels do not overlap.
        bool rotate = colLabels.Max(l => l.Length) > 4;
        double colLabelWidth = colLabels.Max(l => SvgCanvas.TextWidth(l));
        int rowStep = ThinStep(cell, SvgCanvas.FontSize + 2);
        int colStep = ThinStep(cell, rotate ? SvgCanvas.FontSize + 2 : colLabelWidth + 6);
        double rowLabelWidth = rowLabels.Where((_, i) => i % rowStep == 0).Max(l => SvgCanvas.TextWidth(l));
        double colLabelHeight = rotate ? colLabelWidth * 0.72 + 8 : SvgCanvas.FontSize + 4;

        double top = 8 + (spec.Title is null ? 0 : 20);
        double panelTitle = spec.Panels.Any(p => p.Title is not null) ? 16 : 0;
        double left = 8 + 16 + rowLabelWidth + LabelGap + TickLength;
        double panelGap = spec.Panels.Count > 1 ? 14 : 0;
        double blockW = pw + panelGap, blockH = panelTitle + ph + colLabelHeight + 4;
        double plotsRight = left + perRow * blockW - panelGap;
        double barX = plotsRight + 18, barH = Math.Max(Math.Max(ph, 100), SvgCanvas.TextWidth(spec.ValueTitle) + 12), barW = 12;
        var scale = NiceScale.For(lo, hi, Math.Max(3, (int)(barH / 28)), extend: false);
        double barLabelWidth = scale.Ticks.Max(t => SvgCanvas.TextWidth(scale.Label(t)));

        var svg = new SvgCanvas();
        svg.Width = Math.Max(barX + barW + TickLength + LabelGap + barLabelWidth + 8 + 16 + 6,
            spec.Title is null ? 0 : SvgCanvas.TextWidth(spec.Title, 12.5) + 20);
        svg.Height = top + gridRows * blockH + 18 + 6;
        if (svg.Height < top + barH + 30) svg.Height = top + barH + 30;
        if (spec.Title is not null) svg.Text(8, 8 + 12, spec.Title, weight: "bold", size: 12.5);

        for (int p = 0; p < spec.Panels.Count; p++)
        {
            var panel = spec.Panels[p];
            double x0 = left + p % perRow * blockW, y0 = top + p / perRow * blockH + panelTitle;
            if (panel.Title is not null) svg.Text(x0 + pw / 2, y0 - 5, panel.Title, "middle", size: 11);
            DrawCells(svg, spec, panel, x0, y0, cell, lo, hi, rowLabels, colLabels, asImage: rows * cols * spec.Panels.Count > MaxCellElements);
            svg.Rect(x0, y0, pw, ph, "none", "#555", attributes: "stroke-width=\"0.8\"");
            if (p % perRow == 0)
                for (int r = 0; r < rows; r += rowStep)
                {
                    double y = y0 + (r + 0.5) * cell;
                    svg.Line(x0 - TickLength, y, x0, y, "#555", 0.8);
                    svg.Text(x0 - TickLength - LabelGap, y, rowLabels[r], "end", centreV: true);
                }
            for (int c = 0; c < cols; c += colStep)
            {
                double x = x0 + (c + 0.5) * cell;
                svg.Line(x, y0 + ph, x, y0 + ph + TickLength, "#555", 0.8);
                if (rotate) svg.Text(x + 3, y0 + ph + TickLength + 10, colLabels[c], "end", rotate: -40);
                else svg.Text(x, y0 + ph + TickLength + SvgCanvas.FontSize, colLabels[c], "middle");
            }
        }
        double gridBottom = top + gridRows * blockH;
        svg.Text((left + plotsRight) / 2, gridBottom + 14, spec.ColumnTitle, "middle", weight: "600");
        double firstPanelY = top + panelTitle;
        svg.Text(14, firstPanelY + ph / 2, spec.RowTitle, "middle", rotate: -90, weight: "600", centreV: true);

        // Colour bar: 64 bands from lo (bottom) to hi (top), nice ticks on its right, its title rotated beside them.
        double barY = firstPanelY;
        const int bands = 64;
        for (int i = 0; i < bands; i++)
            svg.Rect(barX, barY + barH - (i + 1) * barH / bands, barW, barH / bands + 0.5, Colormap.Hex(Colormap.Viridis((i + 0.5) / bands)), attributes: Crisp);
        svg.Rect(barX, barY, barW, barH, "none", "#555", attributes: "stroke-width=\"0.8\"");
        foreach (double t in scale.Ticks)
        {
            double y = barY + barH - (t - lo) / (hi - lo) * barH;
            svg.Line(barX + barW, y, barX + barW + TickLength, y, "#555", 0.8);
            svg.Text(barX + barW + TickLength + 2, y, scale.Label(t), centreV: true);
        }
        svg.Text(barX + barW + TickLength + LabelGap + barLabelWidth + 14, barY + barH / 2, spec.ValueTitle, "middle", rotate: 90, weight: "600", centreV: true);
        return new SvgChart(svg, spec.Title ?? spec.ValueTitle);
    }

    /// <summary>The smallest of 1, 2, 5, 10, 20, … cells whose span holds <paramref name="need"/> pixels.</summary>
    public static int ThinStep(double cell, double need)
    {
        foreach (int k in new[] { 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000 })
            if (k * cell >= need) return k;
        return 10000;
    }

    private static void DrawCells(SvgCanvas svg, HeatmapSpec spec, HeatmapPanel panel, double x0, double y0, double cell, double lo, double hi,
        IReadOnlyList<string> rowLabels, IReadOnlyList<string> colLabels, bool asImage)
    {
        int rows = panel.Values.GetLength(0), cols = panel.Values.GetLength(1);
        string Colour(double v) => double.IsFinite(v) ? Colormap.Hex(Colormap.Viridis((v - lo) / (hi - lo))) : "#e8e8e8";
        if (asImage)
        {
            var rgb = new byte[rows * cols * 3];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                {
                    double v = panel.Values[r, c];
                    var (R, G, B) = double.IsFinite(v) ? Colormap.Viridis((v - lo) / (hi - lo)) : ((byte)232, (byte)232, (byte)232);
                    int o = (r * cols + c) * 3;
                    (rgb[o], rgb[o + 1], rgb[o + 2]) = (R, G, B);
                }
            svg.Png(x0, y0, cols * cell, rows * cell, PngWriter.EncodeRgb(cols, rows, rgb), $"{panel.Title} {rows}×{cols} (values in the data file)".Trim());
            return;
        }
        string prefix = panel.Title is null ? "" : panel.Title + ": ";
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                double v = panel.Values[r, c];
                // Cells overlap by a hair so no background seams show between them.
                svg.Rect(x0 + c * cell, y0 + r * cell, cell + 0.3, cell + 0.3, Colour(v), attributes: Crisp,
                    title: $"{prefix}{spec.RowTitle} {rowLabels[r]}, {spec.ColumnTitle} {colLabels[c]}: {NiceScale.Value(v)}");
            }
    }
}
