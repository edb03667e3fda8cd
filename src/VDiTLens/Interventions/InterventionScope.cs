using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Probes;
using static TorchSharp.torch;

namespace VDiTLens.Interventions;

/// <summary>
/// Where an intervention applies: sites (ProbeFilter's patterns: exact name, trailing-'*' prefix, or kind such as
/// <c>self</c>), an inclusive step range read from <c>call.State.Step</c>, branches, and a head subset. Empty lists
/// and null bounds mean "all". Heads outside <see cref="Heads"/> are left exactly as they were.
/// </summary>
public sealed record InterventionScope
{
    public IReadOnlyList<string> Sites { get; init; } = Array.Empty<string>();
    public IReadOnlyList<long> Heads { get; init; } = Array.Empty<long>();
    public int? MinStep { get; init; }
    public int? MaxStep { get; init; }
    public IReadOnlyList<string> Branches { get; init; } = Array.Empty<string>();

    public static InterventionScope All { get; } = new();

    public bool AllHeads => Heads.Count == 0;

    public bool Accepts(AttentionCall call) =>
        new ProbeFilter { Sites = Sites, Branches = Branches }.Accepts(call)
        && (MinStep is null || call.State.Step >= MinStep)
        && (MaxStep is null || call.State.Step <= MaxStep);

    /// <summary>The heads this scope selects out of <paramref name="headCount"/> (in the order given), checked against the call.</summary>
    public long[] HeadIndices(AttentionCall call, long headCount)
    {
        if (AllHeads) return Enumerable.Range(0, (int)headCount).Select(h => (long)h).ToArray();
        foreach (long h in Heads)
            if (h < 0 || h >= headCount)
                throw new VDiTLensException($"intervention head {h} does not exist at site {call.Site.Name} ({headCount} heads); fix the 'heads' list");
        if (Heads.Distinct().Count() != Heads.Count)
            throw new VDiTLensException($"intervention 'heads' list [{string.Join(", ", Heads)}] repeats a head; list each head once");
        return Heads.ToArray();
    }

    /// <summary>A float [1, H, 1, 1] tensor holding <paramref name="inScope"/>(i) on the i-th selected head and <paramref name="outOfScope"/> elsewhere.</summary>
    public Tensor PerHead(AttentionCall call, long headCount, Func<int, double> inScope, double outOfScope, ScalarType dtype, Device device)
    {
        var values = Enumerable.Repeat(outOfScope, (int)headCount).ToArray();
        var selected = HeadIndices(call, headCount);
        for (int i = 0; i < selected.Length; i++) values[selected[i]] = inScope(i);
        return torch.tensor(values, dtype: dtype, device: device).view(1, headCount, 1, 1);
    }
}
