using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Attention;

/// <summary>
/// Records the full softmax probabilities of every call as applied (mask and key selections included) under the
/// site's reference key (<c>attn.{layer}.{kind}</c>), computed densely in float64. For small inputs and reference checks only:
/// it refuses when the maps would exceed <see cref="MaxBytes"/>.
/// </summary>
public sealed class DenseProbabilityRecorder(long maxBytes = 1L << 30) : IAttentionProbe, IDisposable
{
    public long MaxBytes { get; } = maxBytes;
    public long Bytes { get; private set; }
    public Dictionary<string, Tensor> Probabilities { get; } = new();

    public bool Accepts(AttentionCall call) => true;

    public void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output)
    {
        long bytes = q.shape[0] * q.shape[1] * q.shape[2] * k.shape[2] * 4;
        Bytes += bytes;
        if (Bytes > MaxBytes)
            throw new VDiTLensException($"saving attention probabilities needs more than {MaxBytes / (1 << 20)} MiB (site {call.Site.Name} alone {bytes / (1 << 20)} MiB); use the probes instead, or raise the limit");
        using var scope = torch.NewDisposeScope();
        var rows = torch.arange(q.shape[2], dtype: ScalarType.Int64, device: q.device);
        var p = AppliedAttention.Logits(call, q.to(ScalarType.Float64), k.to(ScalarType.Float64), rows, null, null, ScalarType.Float64).softmax(-1);
        string key = call.State.Step >= 0 ? $"{call.Site.ReferenceKey}.step{call.State.Step}.{call.State.Branch}" : call.Site.ReferenceKey;
        Probabilities[key] = p.to(ScalarType.Float32).DetachFromDisposeScope();
    }

    public void Dispose()
    {
        foreach (var p in Probabilities.Values) p.Dispose();
        Probabilities.Clear();
    }
}
