namespace VDiTLens.Reports.Charts;

/// <summary>A finished chart: the SVG as a file (with its namespace) and as an inline element of an HTML page.</summary>
public sealed record SvgChart(SvgCanvas Canvas, string Label)
{
    public string File => Canvas.ToSvg(standalone: true, Label);
    public string Inline => Canvas.ToSvg(standalone: false, Label);
}
