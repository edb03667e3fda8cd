using System.Globalization;
using System.Xml.Linq;
using VDiTLens.Reports.Charts;

namespace VDiTLens.Tests.Reports.Charts;

/// <summary>A rendered chart parsed back as XML, with helpers to find elements by tooltip and read coordinates.</summary>
internal sealed class SvgTestDocument(SvgChart chart)
{
    public static readonly XNamespace Svg = "http://www.w3.org/2000/svg";
    public XElement Root { get; } = XDocument.Parse(chart.File).Root!;

    public IEnumerable<XElement> All(string name) => Root.Descendants(Svg + name);

    public XElement WithTitle(string name, string title) =>
        All(name).Single(e => (string?)e.Element(Svg + "title") == title);

    public IEnumerable<string> Texts => All("text").Select(t => t.Value);

    public static double D(XElement e, string attribute) => double.Parse((string)e.Attribute(attribute)!, CultureInfo.InvariantCulture);

    /// <summary>The plot frame: the unfilled rectangle drawn around the data area (the first one).</summary>
    public (double X, double Y, double W, double H) Frame()
    {
        var r = All("rect").First(e => (string?)e.Attribute("fill") == "none");
        return (D(r, "x"), D(r, "y"), D(r, "width"), D(r, "height"));
    }
}
