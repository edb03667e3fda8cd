using System.Globalization;

namespace VDiTLens.Reports.Charts;

/// <summary>Ticks at "nice" numbers (1, 2 or 5 × 10^k) over a value range, and their labels.</summary>
public sealed record NiceScale(double Min, double Max, double Step)
{
    /// <summary>Tick values from the first multiple of <see cref="Step"/> at or above <see cref="Min"/> to <see cref="Max"/>.</summary>
    public IReadOnlyList<double> Ticks
    {
        get
        {
            var ticks = new List<double>();
            double first = Math.Ceiling(Min / Step - 1e-9) * Step;
            for (double v = first; v <= Max + Step * 1e-9; v += Step)
                ticks.Add(Math.Abs(v) < Step * 1e-9 ? 0 : v);
            return ticks;
        }
    }

    /// <summary>
    /// A scale over [lo, hi] with at most about <paramref name="maxTicks"/> ticks; with <paramref name="extend"/> the
    /// ends are widened to the nearest ticks (axes of line and bar charts), otherwise kept (colour bars).
    /// </summary>
    public static NiceScale For(double lo, double hi, int maxTicks = 6, bool extend = true)
    {
        if (!double.IsFinite(lo) || !double.IsFinite(hi)) (lo, hi) = (0, 1);
        if (hi < lo) (lo, hi) = (hi, lo);
        if (hi == lo)
        {
            double pad = lo == 0 ? 1 : Math.Abs(lo) * 0.1;
            (lo, hi) = (lo - pad, hi + pad);
        }
        double step = Nice((hi - lo) / Math.Max(1, maxTicks - 1), round: true);
        return extend ? new NiceScale(Math.Floor(lo / step + 1e-9) * step, Math.Ceiling(hi / step - 1e-9) * step, step) : new NiceScale(lo, hi, step);
    }

    /// <summary>A nice number near <paramref name="x"/>: rounded (nearest of 1, 2, 5, 10) or the next one up.</summary>
    public static double Nice(double x, bool round)
    {
        if (!(x > 0)) return 1;
        double exponent = Math.Floor(Math.Log10(x));
        double fraction = x / Math.Pow(10, exponent);
        double nice = round
            ? fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
            : fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
        return nice * Math.Pow(10, exponent);
    }

    /// <summary>A tick label with as many decimals as the step needs (scientific for very small or large values).</summary>
    public string Label(double v)
    {
        double magnitude = Math.Max(Math.Abs(Min), Math.Abs(Max));
        if (magnitude >= 1e5 || (Step < 1e-3 && magnitude < 1e-2)) return v == 0 ? "0" : v.ToString("0.##e0", CultureInfo.InvariantCulture);
        int decimals = Math.Max(0, (int)Math.Ceiling(-Math.Log10(Step) - 1e-9));
        return v.ToString("F" + decimals, CultureInfo.InvariantCulture);
    }

    /// <summary>A value for tooltips and tables: four significant digits.</summary>
    public static string Value(double v) => double.IsFinite(v) ? v.ToString("G4", CultureInfo.InvariantCulture) : "n/a";
}
