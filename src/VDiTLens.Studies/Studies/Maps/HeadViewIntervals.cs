using System.Globalization;
using System.Text;
using VDiTLens.Reports;
using VDiTLens.Statistics;

namespace VDiTLens.Studies.Maps;

/// <summary>
/// Per (site, step, head): each head-view metric's mean over runs (prompt × seed, the independent units) with its
/// 95 % percentile-bootstrap interval, and its maximum over runs (a head that sinks in one run only shows there).
/// </summary>
public static class HeadViewIntervals
{
    private static readonly (string Name, Func<HeadViewRow, double> Value)[] Columns =
    {
        ("top1_mass", r => r.Top1Mass), ("sink_mass_above_epsilon", r => r.SinkMass), ("entropy_over_ln_keys", r => r.NormalisedEntropy),
        ("coverage_0.9", r => r.Coverage90),
    };

    public static string Csv(IReadOnlyList<IReadOnlyList<HeadViewRow>> runs, Bootstrap? bootstrap = null)
    {
        bootstrap ??= new Bootstrap();
        var s = new StringBuilder("site,layer,kind,step,head,runs");
        foreach (var (name, _) in Columns) s.Append($",{name}_mean,{name}_low,{name}_high,{name}_max");
        s.Append('\n');
        for (int i = 0; i < runs[0].Count; i++)
        {
            var r = runs[0][i];
            s.Append($"{r.Site},{r.Layer},{r.Kind},{r.Step},{r.Head},{runs.Count}");
            foreach (var (_, value) in Columns)
            {
                var units = runs.Select(x => value(x[i])).ToArray();
                var e = bootstrap.Mean(units);
                s.Append($",{CsvNumber.Of(e.Value)},{CsvNumber.Of(e.Low)},{CsvNumber.Of(e.High)},{CsvNumber.Of(units.Max())}");
            }
            s.Append('\n');
        }
        return s.ToString();
    }
}
