using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>
/// A statistic of the softmax attention map, accumulated from blocks of query rows so that no N×N map is ever
/// held. <see cref="Accumulate"/> receives exact probability rows p [B, H, rows, Lk] (float32, or float64 for
/// float64 models) for the query positions <paramref name="rows"/> (int64 [rows]).
/// </summary>
public interface IAttentionStatistic : IDisposable
{
    /// <summary>Short name used in result keys: the <see cref="ProbeKey.Statistic"/> of its results.</summary>
    string Name { get; }

    /// <summary>Whether this statistic applies to the call (e.g. frame maps need video queries and keys).</summary>
    bool AppliesTo(AttentionCall call);

    void BeginCall(AttentionCall call, ProbeGroup group, long batch, long heads);

    void Accumulate(AttentionCall call, ProbeGroup group, Tensor rows, Tensor p);

    /// <summary>Called once per call after all blocks: turn this call's sums into means and add them to the aggregate.</summary>
    void EndCall(AttentionCall call, ProbeGroup group);

    /// <summary>Final results averaged over all accepted calls: new tensors on the CPU, float32, owned by the caller.</summary>
    IEnumerable<ProbeResult> Results();
}
