namespace VDiTLens.Attention;

/// <summary>
/// A set of non-negative integers (layers, steps) as inclusive intervals; empty means "all". Converts from a C#
/// range (<c>10..20</c> is 10 to 19, as everywhere in .NET; <c>10..</c> is 10 and up) and from an array of values;
/// <see cref="Parse"/> reads lists such as <c>10-20,25</c> (inclusive ends, <c>10-</c> open).
/// </summary>
public sealed record IndexSet
{
    private readonly (int Min, int Max)[] _intervals;

    public IndexSet(IEnumerable<(int Min, int Max)> intervals)
    {
        _intervals = intervals.ToArray();
        foreach (var (min, max) in _intervals)
            if (min < 0 || max < min)
                throw new VDiTLensException($"index interval {min}-{max} is empty or negative; give 'first-last' with 0 ≤ first ≤ last");
    }

    public static IndexSet All { get; } = new(Array.Empty<(int, int)>());

    public IReadOnlyList<(int Min, int Max)> Intervals => _intervals;
    public bool IsAll => _intervals.Length == 0;

    public bool Contains(int value) => IsAll || _intervals.Any(i => value >= i.Min && value <= i.Max);

    /// <summary>Values from <paramref name="min"/> to <paramref name="max"/> inclusive; a null bound is open.</summary>
    public static IndexSet Between(int? min, int? max) =>
        min is null && max is null ? All : new(new[] { (min ?? 0, max ?? int.MaxValue) });

    public static implicit operator IndexSet(int[] values) => new(values.Select(v => (v, v)));

    public static implicit operator IndexSet(Range range)
    {
        if (range.Start.IsFromEnd || (range.End.IsFromEnd && range.End.Value != 0))
            throw new VDiTLensException($"index range {range} counts from the end; give explicit bounds such as 10..20");
        int min = range.Start.Value;
        int max = range.End.IsFromEnd ? int.MaxValue : range.End.Value - 1;
        if (max < min) throw new VDiTLensException($"index range {range} is empty");
        return new(new[] { (min, max) });
    }

    /// <summary>Reads "a-b,c,d-" (inclusive; an open end runs to the last index); null or blank is <see cref="All"/>.</summary>
    public static IndexSet Parse(string? text, string field)
    {
        if (string.IsNullOrWhiteSpace(text)) return All;
        var intervals = new List<(int, int)>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int dash = part.IndexOf('-', 1);
            string first = dash < 0 ? part : part[..dash], last = dash < 0 ? part : part[(dash + 1)..];
            int min = Int(first, part, field);
            int max = last.Length == 0 ? int.MaxValue : Int(last, part, field);
            if (max < min) throw new VDiTLensException($"{field}: '{part}' is an empty range (first {min} > last {max})");
            intervals.Add((min, max));
        }
        return new(intervals);
    }

    private static int Int(string s, string part, string field) =>
        int.TryParse(s, out int v) && v >= 0 ? v
            : throw new VDiTLensException($"{field}: '{part}' is not a non-negative integer or range (use e.g. 10-20,25)");

    public bool Equals(IndexSet? other) => other is not null && _intervals.SequenceEqual(other._intervals);
    public override int GetHashCode() => _intervals.Aggregate(0, (h, i) => HashCode.Combine(h, i.Min, i.Max));

    public override string ToString() => IsAll ? "all"
        : string.Join(",", _intervals.Select(i => i.Min == i.Max ? $"{i.Min}" : i.Max == int.MaxValue ? $"{i.Min}-" : $"{i.Min}-{i.Max}"));
}
