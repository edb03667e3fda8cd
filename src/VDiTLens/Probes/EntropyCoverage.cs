using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>
/// Per-query entropy of attention and top-k coverage: the smallest number of keys holding a share p of each
/// query's mass, for p in <see cref="Levels"/>. Both are averaged over queries per head. Results:
/// <c>&lt;site&gt;.entropy</c> [B, H] (nats), <c>&lt;site&gt;.coverage</c> [B, H, levels] (keys) and
/// <c>&lt;site&gt;.coverage_fraction</c> [B, H, levels] (keys ÷ key count).
/// Coverage needs a sort of each row; <paramref name="coverageStride"/> computes it exactly on every n-th query.
/// </summary>
public sealed class EntropyCoverage(int coverageStride = 1, bool withEntropy = true) : IAttentionStatistic
{
    public static readonly double[] Levels = { 0.5, 0.9, 0.95, 0.99 };

    private readonly RunningMean _entropy = new(), _coverage = new(), _fraction = new();
    private readonly Dictionary<ProbeGroup, CallSums> _calls = new();

    public string Name => "entropy";
    public int CoverageStride { get; } = Math.Max(1, coverageStride);

    public bool AppliesTo(AttentionCall call) => true;

    public void BeginCall(AttentionCall call, ProbeGroup key, long batch, long heads) => _calls[key] = new CallSums();

    public void Accumulate(AttentionCall call, ProbeGroup key, Tensor rows, Tensor p)
    {
        var s = _calls[key];
        using var scope = torch.NewDisposeScope();
        var entropy = -(p * p.clamp_min(1e-300).log()).sum(-1); // [B, H, rows]; 0·log 0 = 0
        Add(ref s.Entropy, entropy.sum(-1));
        s.EntropyRows += p.shape[2];

        var rowIds = rows.cpu().data<long>().ToArray();
        var pick = Enumerable.Range(0, rowIds.Length).Where(i => rowIds[i] % CoverageStride == 0).Select(i => (long)i).ToArray();
        if (pick.Length == 0) return;
        var sub = pick.Length == rowIds.Length ? p : p.index_select(2, torch.tensor(pick, device: p.device));
        var cumulative = sub.sort(-1, descending: true).Values.cumsum(-1);
        var counts = torch.stack(Levels.Select(level => (cumulative < level).sum(-1) + 1).ToArray(), -1)
            .clamp_max(p.shape[3]).to(ScalarType.Float64); // [B, H, rows, levels]
        Add(ref s.Coverage, counts.sum(2));
        s.CoverageRows += pick.Length;
    }

    public void EndCall(AttentionCall call, ProbeGroup key)
    {
        var s = _calls[key];
        _calls.Remove(key);
        if (s.Entropy is null) return;
        long keys = call.KeyLayout.Length;
        using var scope = torch.NewDisposeScope();
        _entropy.Add(key, s.Entropy / s.EntropyRows);
        if (s.Coverage is not null)
        {
            var mean = s.Coverage / s.CoverageRows;
            _coverage.Add(key, mean);
            _fraction.Add(key, mean / keys);
        }
        s.Entropy.Dispose();
        s.Coverage?.Dispose();
    }

    public IEnumerable<ProbeResult> Results() =>
        (withEntropy ? _entropy.Means("entropy") : []).Concat(_coverage.Means("coverage")).Concat(_fraction.Means("coverage_fraction"));

    public void Dispose()
    {
        _entropy.Dispose();
        _coverage.Dispose();
        _fraction.Dispose();
    }

    private static void Add(ref Tensor? sum, Tensor value)
    {
        if (sum is null) sum = value.to(ScalarType.Float64).DetachFromDisposeScope();
        else sum.add_(value);
    }

    private sealed class CallSums
    {
        public Tensor? Entropy;
        public long EntropyRows;
        public Tensor? Coverage;
        public long CoverageRows;
    }
}
