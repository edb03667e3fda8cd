using System.Globalization;
using System.Xml.Linq;
using VDiTLens.Tests.Reports.Charts;
using VDiTLens.Tests.Studies.Sinks;
using VDiTLens.Training;

namespace VDiTLens.Tests.Training;

/// <summary>The emergence plot read back: every recorded value is a marker whose tooltip holds it (and its interval).</summary>
public sealed class EmergencePlotTests
{
    private static string ShippedCsv => Path.Combine(TinyLmSinkTests.Folder, "emergence.csv");

    private static HashSet<string> Titles(string svg) =>
        XDocument.Parse(svg).Descendants(SvgTestDocument.Svg + "title").Select(t => t.Value).ToHashSet();

    private static string G(double v) => v.ToString("G4", CultureInfo.InvariantCulture);

    [Fact]
    public void The_tiny_lm_plot_holds_each_share_over_uniform_sink_epsilon_and_accuracy_with_their_intervals()
    {
        var points = EmergenceRecorder.Read(ShippedCsv);
        var titles = Titles(EmergencePlot.Render(points)!);
        double At(EmergencePoint p, string metric) => points.Single(o => o.Step == p.Step && o.Layer == p.Layer && o.Metric == metric).Value;
        var shares = points.Where(p => p.Metric == "first_token_share").ToList();
        Assert.NotEmpty(shares);
        foreach (var p in shares)
        {
            double u = At(p, "first_token_uniform");
            Assert.Contains($"layer {p.Layer} — training step {p.Step}, first-token α₀ ÷ uniform causal {G(p.Value / u)} " +
                            $"[{G(At(p, "first_token_share_low") / u)}, {G(At(p, "first_token_share_high") / u)}]", titles);
        }
        foreach (var p in points.Where(p => p.Metric == "epsilon_share"))
            Assert.Contains($"layer {p.Layer} — training step {p.Step}, Sink^ε {G(p.Value)} [{G(At(p, "epsilon_share_low"))}, {G(At(p, "epsilon_share_high"))}]", titles);
        foreach (var p in points.Where(p => p.Metric == "sink_epsilon"))
            Assert.Contains($"model — training step {p.Step}, Sink^ε {G(p.Value)} [{G(At(p, "sink_epsilon_low"))}, {G(At(p, "sink_epsilon_high"))}]", titles);
        foreach (var p in points.Where(p => p.Metric == "answer_accuracy"))
            Assert.Contains($"answer accuracy — training step {p.Step}, share of answers right {G(p.Value)}", titles);
    }

    [Fact]
    public void The_shipped_emergence_svg_is_the_plot_of_the_shipped_csv()
    {
        string shipped = File.ReadAllText(Path.Combine(TinyLmSinkTests.Folder, EmergencePlot.FileName));
        Assert.Equal(EmergencePlot.Render(EmergenceRecorder.Read(ShippedCsv)), shipped);
    }

    [Fact]
    public void The_video_curve_plots_first_frame_mass_over_uniform_and_the_evaluator()
    {
        var points = new List<EmergencePoint>
        {
            new(0, 0, "self", "first_frame_share", 0.25), new(0, 0, "self", "first_frame_uniform", 0.25),
            new(10, 0, "self", "first_frame_share", 0.5), new(10, 0, "self", "first_frame_uniform", 0.25),
            new(0, -1, "model", "objects_correct", 0.1), new(10, -1, "model", "objects_correct", 0.6),
        };
        var titles = Titles(EmergencePlot.Render(points)!);
        Assert.Contains("layer 0 — training step 10, first-frame mass ÷ uniform 2", titles);
        Assert.Contains("objects correct — training step 10, share of caption objects 0.6", titles);
        Assert.DoesNotContain(titles, t => t.Contains("Sink^ε"));
    }

    [Fact]
    public void Replot_writes_the_svg_beside_the_csv_and_refuses_a_csv_without_shares()
    {
        string dir = Path.Combine(Path.GetTempPath(), "vditlens-emergence-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string csv = Path.Combine(dir, EmergenceRecorder.FileName);
            File.Copy(ShippedCsv, csv);
            Assert.Equal(Path.Combine(dir, EmergencePlot.FileName), EmergencePlot.Replot(csv));
            Assert.Equal(EmergencePlot.Render(EmergenceRecorder.Read(csv)), File.ReadAllText(Path.Combine(dir, EmergencePlot.FileName)));
            EmergenceRecorder.Append(Path.Combine(dir, "other.csv"), new[] { new EmergencePoint(0, -1, "model", "loss", 1) });
            Assert.Contains("other.csv", Assert.Throws<VDiTLensException>(() => EmergencePlot.Replot(Path.Combine(dir, "other.csv"))).Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
