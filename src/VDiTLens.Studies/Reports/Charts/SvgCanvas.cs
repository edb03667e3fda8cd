using System.Globalization;
using System.Net;
using System.Text;

namespace VDiTLens.Reports.Charts;

/// <summary>
/// Writes SVG elements with invariant numbers. Text uses a font stack every system has some member of; sizes are in
/// CSS pixels, so a chart embedded in HTML and the same chart saved as a file look alike.
/// </summary>
public sealed class SvgCanvas
{
    public const string FontFamily = "DejaVu Sans, Helvetica, Arial, sans-serif";
    public const double FontSize = 11;
    private readonly StringBuilder _body = new();

    public double Width { get; set; }
    public double Height { get; set; }

    public static string N(double v) => Math.Round(v, 2).ToString("0.##", CultureInfo.InvariantCulture);
    public static string Escape(string s) => WebUtility.HtmlEncode(s);

    /// <summary>Approximate width of <paramref name="text"/> at <paramref name="size"/> (DejaVu Sans averages ≈ 0.6 em).</summary>
    public static double TextWidth(string text, double size = FontSize) => text.Length * size * 0.6;

    public void Raw(string svg) => _body.Append(svg).Append('\n');

    public void Rect(double x, double y, double w, double h, string fill, string? stroke = null, string? title = null, string? attributes = null)
    {
        _body.Append($"<rect x=\"{N(x)}\" y=\"{N(y)}\" width=\"{N(w)}\" height=\"{N(h)}\" fill=\"{fill}\"");
        if (stroke is not null) _body.Append($" stroke=\"{stroke}\"");
        if (attributes is not null) _body.Append(' ').Append(attributes);
        if (title is null) _body.Append("/>\n");
        else _body.Append($"><title>{Escape(title)}</title></rect>\n");
    }

    public void Line(double x1, double y1, double x2, double y2, string stroke, double width = 1, string? dash = null) =>
        _body.Append($"<line x1=\"{N(x1)}\" y1=\"{N(y1)}\" x2=\"{N(x2)}\" y2=\"{N(y2)}\" stroke=\"{stroke}\" stroke-width=\"{N(width)}\"{(dash is null ? "" : $" stroke-dasharray=\"{dash}\"")}/>\n");

    public void Polyline(IEnumerable<(double X, double Y)> points, string stroke, double width = 1.6, string? dash = null) =>
        _body.Append($"<polyline fill=\"none\" stroke=\"{stroke}\" stroke-width=\"{N(width)}\" stroke-linejoin=\"round\"{(dash is null ? "" : $" stroke-dasharray=\"{dash}\"")} points=\"")
            .Append(string.Join(" ", points.Select(p => $"{N(p.X)},{N(p.Y)}"))).Append("\"/>\n");

    /// <summary>A filled, unstroked area (a confidence band) at <paramref name="opacity"/>.</summary>
    public void Polygon(IEnumerable<(double X, double Y)> points, string fill, double opacity) =>
        _body.Append($"<polygon fill=\"{fill}\" fill-opacity=\"{N(opacity)}\" stroke=\"none\" points=\"")
            .Append(string.Join(" ", points.Select(p => $"{N(p.X)},{N(p.Y)}"))).Append("\"/>\n");

    public void Circle(double cx, double cy, double r, string fill, string? stroke = null, string? title = null)
    {
        _body.Append($"<circle cx=\"{N(cx)}\" cy=\"{N(cy)}\" r=\"{N(r)}\" fill=\"{fill}\"{(stroke is null ? "" : $" stroke=\"{stroke}\"")}");
        _body.Append(title is null ? "/>\n" : $"><title>{Escape(title)}</title></circle>\n");
    }

    /// <summary>Text anchored at (x, y): anchor start|middle|end, baseline at y (middle with <paramref name="centreV"/>), optionally rotated by <paramref name="rotate"/> degrees about (x, y).</summary>
    public void Text(double x, double y, string text, string anchor = "start", double size = FontSize, string? weight = null,
        double rotate = 0, bool centreV = false, string fill = "#222")
    {
        _body.Append($"<text x=\"{N(x)}\" y=\"{N(y)}\" font-size=\"{N(size)}\" text-anchor=\"{anchor}\" fill=\"{fill}\"");
        if (centreV) _body.Append(" dominant-baseline=\"central\"");
        if (weight is not null) _body.Append($" font-weight=\"{weight}\"");
        if (rotate != 0) _body.Append($" transform=\"rotate({N(rotate)} {N(x)} {N(y)})\"");
        _body.Append('>').Append(Escape(text)).Append("</text>\n");
    }

    /// <summary>An embedded PNG (pixel-exact scaling), for matrices too large for one element per cell.</summary>
    public void Png(double x, double y, double w, double h, byte[] png, string? title = null) =>
        _body.Append($"<image x=\"{N(x)}\" y=\"{N(y)}\" width=\"{N(w)}\" height=\"{N(h)}\" preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" href=\"data:image/png;base64,{Convert.ToBase64String(png)}\">")
            .Append(title is null ? "" : $"<title>{Escape(title)}</title>").Append("</image>\n");

    /// <summary>
    /// The document: an <c>svg</c> element with a white background; <paramref name="standalone"/> adds the XML
    /// namespace a file needs (inline in HTML it is implied).
    /// </summary>
    public string ToSvg(bool standalone, string? label = null) =>
        $"<svg{(standalone ? " xmlns=\"http://www.w3.org/2000/svg\"" : "")} class=\"chart\" width=\"{N(Width)}\" height=\"{N(Height)}\" viewBox=\"0 0 {N(Width)} {N(Height)}\" " +
        $"font-family=\"{FontFamily}\" role=\"img\"{(label is null ? "" : $" aria-label=\"{Escape(label)}\"")}>\n" +
        $"<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n{_body}</svg>";
}
