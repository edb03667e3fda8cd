using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Attention;

/// <summary>
/// Which attention calls, batch rows and heads a probe reads or an intervention changes. Conditions compose (all
/// must hold); an empty list or <see cref="IndexSet.All"/> means "all".
/// <list type="bullet">
/// <item><see cref="Sites"/>: a site name exactly, a prefix with a trailing '*' (<c>blocks.1*</c>), or a kind
/// (<c>self</c>, <c>cross</c>, <c>joint</c>);</item>
/// <item><see cref="Layers"/> and <see cref="Steps"/>: sets of indices (<c>Layers = 10..20</c>, <c>Steps = new[] { 0, 5 }</c>);</item>
/// <item><see cref="Branches"/>: guidance branches, selected as <em>rows</em> of the call through
/// <see cref="AttentionRunState.Batch"/>, so <c>cond</c> picks the cond rows of a batched-guidance call
/// ([cond…, uncond…]) as it picks the whole call under split guidance;</item>
/// <item><see cref="Heads"/>: head indices (in the order given, for per-head parameters);</item>
/// <item><see cref="Experts"/>: the denoisers whose calls are selected (<c>transformer</c>, <c>transformer_2</c>: the
/// Wan2.2 A14B high- and low-noise experts; see <see cref="AttentionRunState.Expert"/>).</item>
/// </list>
/// </summary>
public sealed record AttentionSelector
{
    public IReadOnlyList<string> Sites { get; init; } = Array.Empty<string>();
    public IndexSet Layers { get; init; } = IndexSet.All;
    public IndexSet Steps { get; init; } = IndexSet.All;
    public IReadOnlyList<string> Branches { get; init; } = Array.Empty<string>();
    public IReadOnlyList<long> Heads { get; init; } = Array.Empty<long>();
    public IReadOnlyList<string> Experts { get; init; } = Array.Empty<string>();

    public static AttentionSelector All { get; } = new();

    public bool AllHeads => Heads.Count == 0;

    /// <summary>Whether the call's site, step and expert are selected and at least one of its rows is.</summary>
    public bool Accepts(AttentionCall call) =>
        (Sites.Count == 0 || Sites.Any(p => Matches(p, call.Site)))
        && Layers.Contains(call.Site.Layer)
        && Steps.Contains(call.State.Step)
        && (Experts.Count == 0 || Experts.Contains(call.State.Expert))
        && (Branches.Count == 0 || Branches.Contains(call.State.Branch) || (call.State.Batch?.RowBranches.Any(Branches.Contains) ?? false));

    private static bool Matches(string pattern, AttentionSite site)
    {
        if (pattern.Equals(site.Kind.ToString(), StringComparison.OrdinalIgnoreCase)) return true;
        if (pattern.EndsWith('*')) return site.Name.StartsWith(pattern[..^1], StringComparison.Ordinal);
        return pattern == site.Name;
    }

    /// <summary>The selected batch rows of a call of <paramref name="batch"/> rows, or null when all are.</summary>
    public long[]? RowIndices(AttentionCall call, long batch)
    {
        if (Branches.Count == 0 || Branches.Contains(call.State.Branch)) return null;
        if (call.State.Batch is not { } layout) return Array.Empty<long>();
        if (layout.Rows != batch)
            throw new VDiTLensException($"the run state's batch layout {layout} has {layout.Rows} rows but the call at site {call.Site.Name} has {batch}; set AttentionRunState.Batch for this forward");
        var rows = Branches.SelectMany(layout.RowsOf).Distinct().Order().ToArray();
        return rows.Length == batch ? null : rows;
    }

    /// <summary>The heads this selector selects out of <paramref name="headCount"/> (in the order given), checked against the call.</summary>
    public long[] HeadIndices(AttentionCall call, long headCount)
    {
        if (AllHeads) return Enumerable.Range(0, (int)headCount).Select(h => (long)h).ToArray();
        foreach (long h in Heads)
            if (h < 0 || h >= headCount)
                throw new VDiTLensException($"head {h} does not exist at site {call.Site.Name} ({headCount} heads); fix the 'heads' list");
        if (Heads.Distinct().Count() != Heads.Count)
            throw new VDiTLensException($"'heads' list [{string.Join(", ", Heads)}] repeats a head; list each head once");
        return Heads.ToArray();
    }

    /// <summary>The selected heads, or null when all are.</summary>
    public long[]? HeadSubset(AttentionCall call, long headCount) => AllHeads ? null : HeadIndices(call, headCount);

    /// <summary>
    /// A float [B or 1, H, 1, 1] tensor holding <paramref name="inScope"/>(i) on the i-th selected head of the selected
    /// rows and <paramref name="outOfScope"/> elsewhere (B = 1 when every row is selected).
    /// </summary>
    public Tensor PerRowHead(AttentionCall call, long batch, long headCount, Func<int, double> inScope, double outOfScope, ScalarType dtype, Device device)
    {
        var values = Enumerable.Repeat(outOfScope, (int)headCount).ToArray();
        var selected = HeadIndices(call, headCount);
        for (int i = 0; i < selected.Length; i++) values[selected[i]] = inScope(i);
        var perHead = torch.tensor(values, dtype: dtype, device: device).view(1, headCount, 1, 1);
        if (RowIndices(call, batch) is not { } rows) return perHead;
        var inRows = torch.zeros(batch, dtype: ScalarType.Bool, device: device).index_fill_(0, torch.tensor(rows, device: device), true);
        return torch.where(inRows.view(batch, 1, 1, 1), perHead, torch.tensor(outOfScope, dtype: dtype, device: device));
    }

    /// <summary>Reads comma lists: sites, layer and step ranges ("10-20,25"), branches, heads, experts.</summary>
    public static AttentionSelector Parse(string? sites, string? layers, string? steps, string? branches, string? heads, string? experts = null) => new()
    {
        Experts = CheckExperts(Split(experts), "experts"),
        Sites = Split(sites),
        Layers = IndexSet.Parse(layers, "layers"),
        Steps = IndexSet.Parse(steps, "steps"),
        Branches = Split(branches),
        Heads = Split(heads).Select(s => long.TryParse(s, out long v) && v >= 0 ? v
            : throw new VDiTLensException($"heads: '{s}' is not a non-negative integer")).ToArray(),
    };

    /// <summary>The expert names a selector may list (<see cref="AttentionRunState.Expert"/>).</summary>
    public static readonly string[] ExpertNames = { AttentionRunState.MainExpert, "transformer_2" };

    /// <summary><paramref name="experts"/>, checked to hold only <see cref="ExpertNames"/>.</summary>
    public static IReadOnlyList<string> CheckExperts(IReadOnlyList<string> experts, string field)
    {
        foreach (var e in experts)
            if (!ExpertNames.Contains(e))
                throw new VDiTLensException($"{field}: '{e}' is not an expert; use {string.Join(" or ", ExpertNames)} (the pipeline component names)");
        return experts;
    }

    private static string[] Split(string? s) =>
        string.IsNullOrWhiteSpace(s) ? Array.Empty<string>() : s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
