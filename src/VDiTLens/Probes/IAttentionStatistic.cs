using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>
/// A statistic of the softmax attention map, accumulated from blocks of query rows so that no N×N map is ever
/// held. <see cref="Accumulate"/> receives exact probability rows p [B, H, rows, Lk] (float32, or float64 for
/// float64 models) for the query positions <paramref name="rows"/> (int64 [rows]).
/// </summary>
public interface IAttentionStatistic
{
    /// <summary>Short name used in result keys: <c>&lt;site&gt;.&lt;Name&gt;</c>.</summary>
    string Name { get; }

    /// <summary>Whether this statistic applies to the call (e.g. frame maps need video queries and keys).</summary>
    bool AppliesTo(AttentionCall call);

    void BeginCall(AttentionCall call, string key, long batch, long heads);

    void Accumulate(AttentionCall call, string key, Tensor rows, Tensor p);

    /// <summary>Called once per call after all blocks: turn this call's sums into means and add them to the aggregate.</summary>
    void EndCall(AttentionCall call, string key);

    /// <summary>Final results averaged over all accepted calls: key → tensor on the CPU, float32.</summary>
    IEnumerable<KeyValuePair<string, Tensor>> Results();
}
