namespace VDiTLens.IO.Fuzzing;

/// <summary>Counts of fuzz outcomes: valid loads, clean errors by message class, and the failures themselves.</summary>
public sealed class FuzzTally
{
    private readonly Dictionary<string, long> _errorsByClass = new(StringComparer.Ordinal);
    private readonly List<FuzzOutcome> _failures = new();

    public long Cases { get; private set; }
    public long ValidLoads { get; private set; }
    public long CleanErrors { get; private set; }
    public long FailureCount { get; private set; }
    public IReadOnlyDictionary<string, long> ErrorsByClass => _errorsByClass;

    /// <summary>The first failures (at most <see cref="KeptFailures"/>), with their bytes.</summary>
    public IReadOnlyList<FuzzOutcome> Failures => _failures;

    public const int KeptFailures = 20;

    public void Add(FuzzOutcome outcome)
    {
        Cases++;
        switch (outcome.Verdict)
        {
            case FuzzVerdict.ValidLoad:
                ValidLoads++;
                break;
            case FuzzVerdict.CleanError:
                CleanErrors++;
                _errorsByClass[outcome.Detail] = _errorsByClass.GetValueOrDefault(outcome.Detail) + 1;
                break;
            default:
                FailureCount++;
                if (_failures.Count < KeptFailures) _failures.Add(outcome);
                break;
        }
    }
}
