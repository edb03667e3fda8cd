using System.Globalization;

namespace VDiTLens.Training;

/// <summary>One row of the loss log.</summary>
public sealed record LossPoint(int Step, double Loss, double LearningRate, double Seconds);

/// <summary>
/// The CSV loss log (<c>step,loss,lr,seconds</c>). On resume, rows past the checkpoint's step are dropped so the log
/// matches the resumed run.
/// </summary>
public sealed class LossLog
{
    public const string Header = "step,loss,lr,seconds";
    private readonly List<LossPoint> _points = new();

    public string Path { get; }
    public IReadOnlyList<LossPoint> Points => _points;

    public LossLog(string path, int keepUpToStep)
    {
        Path = path;
        if (keepUpToStep > 0 && File.Exists(path))
            foreach (var line in File.ReadLines(path).Skip(1))
            {
                var parts = line.Split(',');
                if (parts.Length < 4) continue;
                var point = new LossPoint(int.Parse(parts[0], CultureInfo.InvariantCulture), double.Parse(parts[1], CultureInfo.InvariantCulture),
                    double.Parse(parts[2], CultureInfo.InvariantCulture), double.Parse(parts[3], CultureInfo.InvariantCulture));
                if (point.Step <= keepUpToStep) _points.Add(point);
            }
        Rewrite();
    }

    public void Add(LossPoint point)
    {
        _points.Add(point);
        File.AppendAllText(Path, Format(point) + "\n");
    }

    private void Rewrite()
    {
        string? folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path));
        if (folder is not null) Directory.CreateDirectory(folder);
        File.WriteAllLines(Path, new[] { Header }.Concat(_points.Select(Format)));
    }

    private static string Format(LossPoint p) => string.Create(CultureInfo.InvariantCulture, $"{p.Step},{p.Loss:G6},{p.LearningRate:G4},{p.Seconds:F1}");
}
