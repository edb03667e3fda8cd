using System.Net;
using System.Text;

namespace VDiTLens.Reports;

/// <summary>
/// A report folder that opens offline: <c>index.html</c> is rebuilt from every section fragment in
/// <c>sections/</c>, so commands writing into the same folder (demo, structure, sparsity, sinks…) each add their
/// own section. Pictures, videos and data files live beside it and are referenced by relative paths.
/// </summary>
public sealed class HtmlReport
{
    public string Folder { get; }
    private string SectionsFolder => Path.Combine(Folder, "sections");

    public HtmlReport(string folder)
    {
        Folder = folder;
        Directory.CreateDirectory(SectionsFolder);
    }

    /// <summary>Path of an asset inside the report (creates its folder); use the relative name in HTML.</summary>
    public string Asset(string relative)
    {
        string path = Path.Combine(Folder, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }

    /// <summary>Adds or replaces a section; <paramref name="order"/> sorts sections (demo 10, structure 20, sparsity 30, sinks 40…).</summary>
    public void WriteSection(int order, string id, string title, string bodyHtml)
    {
        var html = $"<section id=\"{Escape(id)}\"><h2>{Escape(title)}</h2>\n{bodyHtml}\n</section>\n";
        AtomicWrite(Path.Combine(SectionsFolder, $"{order:D3}-{id}.html"), html);
        Rebuild();
    }

    private void Rebuild()
    {
        var sections = Directory.GetFiles(SectionsFolder, "*.html").OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal).ToList();
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>VDiTLens report</title>\n<style>")
          .Append("body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}")
          .Append("table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}")
          .Append("th{background:#f3f3f3}img{image-rendering:pixelated;margin:4px;border:1px solid #ddd}")
          .Append("figure{display:inline-block;margin:6px;text-align:center;vertical-align:top}figcaption{font-size:12px;max-width:640px;margin:2px auto}nav a{margin-right:1em}")
          .Append("figure.chart svg{display:block;margin:0 auto}figcaption .links{color:#777;white-space:nowrap}figcaption .links a{color:#2a6f97}")
          .Append("</style></head><body>\n<h1>VDiTLens report</h1>\n<nav>");
        foreach (var f in sections)
        {
            string id = Path.GetFileNameWithoutExtension(f)[4..];
            sb.Append($"<a href=\"#{Escape(id)}\">{Escape(id)}</a>");
        }
        sb.Append("</nav>\n");
        foreach (var f in sections) sb.Append(File.ReadAllText(f));
        // Marks the page once every picture and video has loaded (or names the broken ones), for automated checks.
        sb.Append("<script>window.addEventListener('load',function(){var bad=[];")
          .Append("document.querySelectorAll('img').forEach(function(i){if(!i.complete||i.naturalWidth===0)bad.push(i.getAttribute('src'));});")
          .Append("document.querySelectorAll('video').forEach(function(v){if(v.error)bad.push(v.getAttribute('src'));});")
          .Append("if(bad.length){console.error('missing assets: '+bad.join(', '));}")
          .Append("document.body.setAttribute('data-assets',bad.length?'broken':'ok');});</script>\n");
        sb.Append("</body></html>\n");
        AtomicWrite(Path.Combine(Folder, "index.html"), sb.ToString());
    }

    public static string Escape(string s) => WebUtility.HtmlEncode(s);

    /// <summary>An HTML table from a header and rows of cells (cells are escaped).</summary>
    public static string Table(IEnumerable<string> header, IEnumerable<IEnumerable<string>> rows)
    {
        var sb = new StringBuilder("<table><tr>");
        foreach (var h in header) sb.Append($"<th>{Escape(h)}</th>");
        sb.Append("</tr>");
        foreach (var row in rows)
        {
            sb.Append("<tr>");
            foreach (var c in row) sb.Append($"<td>{Escape(c)}</td>");
            sb.Append("</tr>");
        }
        return sb.Append("</table>").ToString();
    }

    /// <summary>
    /// Writes <paramref name="chart"/> to <paramref name="relativeSvg"/> in the report and returns the figure's HTML:
    /// the chart inline (tooltips work), the caption, and links to the SVG file and to the data it was drawn from.
    /// </summary>
    public string Chart(string relativeSvg, Charts.SvgChart chart, string caption, params DataLink[] data)
    {
        AtomicWrite(Asset(relativeSvg), chart.File);
        return ChartFigure(relativeSvg, chart, caption, data);
    }

    /// <summary>The figure HTML of a chart already written to <paramref name="relativeSvg"/>.</summary>
    public static string ChartFigure(string relativeSvg, Charts.SvgChart chart, string caption, params DataLink[] data)
    {
        var links = new[] { new DataLink("SVG", relativeSvg) }.Concat(data)
            .Select(d => $"<a href=\"{Escape(d.Href)}\">{Escape(d.Label)}</a>");
        return $"<figure class=\"chart\">{chart.Inline}<figcaption>{Escape(caption)} <span class=\"links\">[{string.Join(" · ", links)}]</span></figcaption></figure>";
    }

    public static string Figure(string relativeSrc, string caption, int? width = null) =>
        $"<figure><img src=\"{Escape(relativeSrc)}\" alt=\"{Escape(caption)}\"{(width is { } w ? $" width=\"{w}\"" : "")}><figcaption>{Escape(caption)}</figcaption></figure>";

    private static void AtomicWrite(string path, string text)
    {
        string tmp = path + ".tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }
}
