using System.Globalization;
using System.Text;
using TorchSharp;
using VDiTLens.IO.Video;
using VDiTLens.Reports;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Maps;

/// <summary>
/// The picture of a streamed map: its rows are mean-pooled further on arrival until the longer side is at most
/// <c>size</c> cells, then written as a PNG (viridis on log10 or linear values, white lines where latent frames
/// start) and an SVG around the same raster with axes (token positions and frame labels), title and colour scale.
/// </summary>
public sealed class MapPicture(string pngPath, string svgPath, int size = 1024, bool logScale = true) : IMapSink
{
    private MapGeometry _g = null!;
    private long _factor;
    private double[,] _sum = new double[0, 0];
    private long[] _rowCounts = Array.Empty<long>();
    private long[] _colCounts = Array.Empty<long>();
    private long _row;

    public string PngPath { get; } = pngPath;
    public string SvgPath { get; } = svgPath;

    public void Begin(MapGeometry geometry)
    {
        _g = geometry;
        _factor = Math.Max(1, (Math.Max(geometry.Rows, geometry.Columns) + size - 1) / size);
        long rows = (geometry.Rows + _factor - 1) / _factor, cols = (geometry.Columns + _factor - 1) / _factor;
        _sum = new double[rows, cols];
        _rowCounts = new long[rows];
        _colCounts = Enumerable.Range(0, (int)cols).Select(c => Math.Min(_factor, geometry.Columns - c * _factor)).ToArray();
        _row = 0;
    }

    public void Append(Tensor rows)
    {
        using var scope = torch.NewDisposeScope();
        var values = rows.to(ScalarType.Float64).contiguous().data<double>().ToArray();
        long cols = rows.shape[1];
        for (long r = 0; r < rows.shape[0]; r++, _row++)
        {
            long target = _row / _factor;
            _rowCounts[target]++;
            for (long c = 0; c < cols; c++) _sum[target, c / _factor] += values[r * cols + c];
        }
    }

    public void End()
    {
        int rows = _sum.GetLength(0), cols = _sum.GetLength(1);
        var cells = new double[rows, cols];
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                double mean = _sum[r, c] / Math.Max(1, _rowCounts[r] * _colCounts[c]);
                double v = logScale ? (mean > 0 ? Math.Log10(mean) : double.NaN) : mean;
                cells[r, c] = v;
                if (double.IsFinite(v)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
            }
        if (!double.IsFinite(lo)) (lo, hi) = (0, 1);
        if (logScale) lo = Math.Max(lo, hi - 6); // six decades below the peak are the floor of the colour scale
        if (!logScale) lo = 0;
        double range = hi > lo ? hi - lo : 1;
        int cell = Math.Clamp((int)Math.Ceiling(512.0 / Math.Max(rows, cols)), 1, 64);
        int width = cols * cell, height = rows * cell;
        var rgb = new byte[width * height * 3];
        var rowLines = Lines(_g.QueryPositions, _g.QueryLayout, height, rows, cell);
        var colLines = Lines(_g.KeyPositions, _g.KeyLayout, width, cols, cell);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = rowLines.Contains(y) || colLines.Contains(x) ? ((byte)255, (byte)255, (byte)255)
                    : VDiTLens.Reports.Charts.Colormap.Viridis((cells[y / cell, x / cell] - lo) / range);
                int o = (y * width + x) * 3;
                rgb[o] = r; rgb[o + 1] = g; rgb[o + 2] = b;
            }
        var png = PngWriter.EncodeRgb(width, height, rgb);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(PngPath))!);
        File.WriteAllBytes(PngPath, png);
        File.WriteAllText(SvgPath, Svg(png, width, height, lo, hi));
    }

    /// <summary>Pixel rows (or columns) where a latent frame starts, except at the very edge.</summary>
    private HashSet<int> Lines(long[] positions, Attention.TokenLayout layout, int pixels, int cells, int cell)
    {
        return MapGeometry.FrameStarts(positions, layout, _g.Pool).Select(f => (int)Math.Round(f.At / _factor * cell))
            .Where(p => p > 0 && p < pixels).ToHashSet();
    }

    private string Svg(byte[] png, int width, int height, double lo, double hi)
    {
        const int left = 70, top = 40, bar = 16, gap = 20;
        int W = left + width + gap + bar + 70, H = top + height + 60;
        string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
        var s = new StringBuilder();
        s.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        s.Append($"<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>\n");
        string title = $"{_g.Site} · step {_g.Step} · {_g.Branch} · {_g.HeadLabel}" + (_g.Pool > 1 ? $" · pooled {_g.Pool}×{_g.Pool}" : "")
            + (_factor > 1 ? $" (picture {_factor}× coarser)" : "");
        s.Append($"<text x=\"{left}\" y=\"16\" font-size=\"13\">{Escape(title)}</text>\n");
        s.Append($"<image x=\"{left}\" y=\"{top}\" width=\"{width}\" height=\"{height}\" style=\"image-rendering:pixelated\" href=\"data:image/png;base64,{Convert.ToBase64String(png)}\"/>\n");
        s.Append($"<rect x=\"{left}\" y=\"{top}\" width=\"{width}\" height=\"{height}\" fill=\"none\" stroke=\"black\"/>\n");
        double perRow = (double)height / _g.Rows, perCol = (double)width / _g.Columns;
        foreach (var (at, frame) in MapGeometry.FrameStarts(_g.QueryPositions, _g.QueryLayout, _g.Pool))
            s.Append($"<text x=\"{left - 4}\" y=\"{F(top + at * perRow + 10)}\" text-anchor=\"end\">f{frame}</text>\n");
        foreach (var (at, frame) in MapGeometry.FrameStarts(_g.KeyPositions, _g.KeyLayout, _g.Pool))
            s.Append($"<text x=\"{F(left + at * perCol + 2)}\" y=\"{top + height + 14}\">f{frame}</text>\n");
        // token positions at the two ends of each axis
        s.Append($"<text x=\"{left - 4}\" y=\"{top - 4}\" text-anchor=\"end\">q {_g.QueryPositions[0]}</text>\n");
        s.Append($"<text x=\"{left - 4}\" y=\"{top + height + 14}\" text-anchor=\"end\">q {_g.QueryPositions[^1]}</text>\n");
        s.Append($"<text x=\"{left}\" y=\"{top + height + 30}\">key {_g.KeyPositions[0]}</text>\n");
        s.Append($"<text x=\"{left + width}\" y=\"{top + height + 30}\" text-anchor=\"end\">key {_g.KeyPositions[^1]}</text>\n");
        s.Append($"<text x=\"{left + width / 2}\" y=\"{top + height + 48}\" text-anchor=\"middle\">keys ({_g.KeyPositions.Length} tokens; lines: latent frame starts)</text>\n");
        s.Append($"<text transform=\"translate(14,{top + height / 2}) rotate(-90)\" text-anchor=\"middle\">queries ({_g.QueryPositions.Length} tokens)</text>\n");
        int bx = left + width + gap;
        for (int i = 0; i < height; i += 2)
        {
            var (r, g, b) = VDiTLens.Reports.Charts.Colormap.Viridis(1 - (double)i / height);
            s.Append($"<rect x=\"{bx}\" y=\"{top + i}\" width=\"{bar}\" height=\"2\" fill=\"rgb({r},{g},{b})\"/>\n");
        }
        string Label(double v) => logScale ? $"1e{F(v)}" : F(v);
        s.Append($"<text x=\"{bx + bar + 4}\" y=\"{top + 10}\">{Label(hi)}</text>\n");
        s.Append($"<text x=\"{bx + bar + 4}\" y=\"{top + height}\">{Label(lo)}</text>\n");
        s.Append($"<text x=\"{bx + bar + 4}\" y=\"{top + height / 2}\">{(logScale ? "log10 p" : "p")}</text>\n");
        s.Append("</svg>\n");
        return s.ToString();
    }

    private static string Escape(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
