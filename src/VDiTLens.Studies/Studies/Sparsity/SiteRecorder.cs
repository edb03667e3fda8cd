using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sparsity;

/// <summary>Collects the self-attention sites (kind self or joint) a generation went through, ordered by layer.</summary>
public sealed class SiteRecorder : IAttentionProbe
{
    private readonly Dictionary<string, AttentionSite> _sites = new();

    public IReadOnlyList<AttentionSite> Sites => _sites.Values.OrderBy(s => s.Layer).ThenBy(s => s.Name, StringComparer.Ordinal).ToArray();

    public bool Accepts(AttentionCall call) => IsSelf(call.Site);

    public void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output) => _sites.TryAdd(call.Site.Name, call.Site);

    public static bool IsSelf(AttentionSite site) => site.Kind != AttentionKind.Cross;
}
