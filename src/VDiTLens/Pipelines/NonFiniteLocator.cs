using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>
/// A probe for a forward being re-run after its output went non-finite: remembers the first attention call whose
/// output has a NaN/Inf, whether its q/k/v were already non-finite (the cause lies before it), and which batch rows.
/// </summary>
public sealed class NonFiniteLocator : IAttentionProbe
{
    public AttentionSite? FirstSite { get; private set; }
    public bool InputsWereNonFinite { get; private set; }
    public long[] Rows { get; private set; } = Array.Empty<long>();
    public BatchLayout? Layout { get; private set; }

    public bool Accepts(AttentionCall call) => FirstSite is null;

    public void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output)
    {
        using var scope = torch.NewDisposeScope();
        var bad = output.isfinite().logical_not().flatten(1).any(1);
        if (!bad.any().item<bool>()) return;
        FirstSite = call.Site;
        InputsWereNonFinite = !(q.isfinite().all().item<bool>() && k.isfinite().all().item<bool>() && v.isfinite().all().item<bool>());
        Rows = bad.nonzero().flatten().cpu().data<long>().ToArray();
        Layout = call.State.Batch;
    }

    /// <summary>Where the first non-finite value appeared, in words.</summary>
    public string Describe()
    {
        if (FirstSite is null)
            return "every attention output was finite, so it arose after the last attention call (feed-forward, norm_out or proj_out)";
        string rows = string.Join(", ", Rows.Select(r => Layout is { } l && r < l.Rows ? $"{r} ({l.RowBranches[(int)r]})" : r.ToString()));
        string cause = InputsWereNonFinite
            ? "its q/k/v were already non-finite, so it arose in the layers before it"
            : "its q/k/v were finite, so the attention itself produced it";
        return $"first non-finite attention output at {FirstSite.Name} (batch rows {rows}); {cause}";
    }
}
