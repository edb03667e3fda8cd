using System.Globalization;

namespace VDiTLens.Reports;

/// <summary>How the study CSVs write a number: six significant digits, invariant culture, an empty cell when undefined.</summary>
public static class CsvNumber
{
    public static string Of(double v) => double.IsFinite(v) ? v.ToString("G6", CultureInfo.InvariantCulture) : "";
}
