using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Interventions;

public enum TextKeepMode
{
    /// <summary>The other text keys get -inf logits; the softmax renormalises over the kept text tokens (and any video keys).</summary>
    Mask,
    /// <summary>The other text keys keep their attention weight but their values are zero.</summary>
    ZeroValues,
}

/// <summary>
/// Text-token ablation: in calls whose keys include text (Wan's cross attention, joint attention), every text key but
/// the kept text-token indices (counted from the first text key, padding included) is masked or has its value zeroed,
/// on the scoped rows and heads. Video keys are untouched. Calls without text keys pass through.
/// </summary>
public sealed class TextKeep : IAttentionIntervention
{
    public IReadOnlyList<long> Keep { get; }
    public TextKeepMode Mode { get; }
    public AttentionSelector Scope { get; }

    public TextKeep(IReadOnlyList<long> keep, TextKeepMode mode = TextKeepMode.Mask, AttentionSelector? scope = null)
    {
        if (keep.Count == 0) throw new VDiTLensException("text_keep 'keep' is empty: list the text-token indices to keep");
        if (keep.Any(i => i < 0)) throw new VDiTLensException($"text_keep 'keep' [{string.Join(", ", keep)}] holds a negative index");
        Keep = keep;
        Mode = mode;
        Scope = scope ?? AttentionSelector.All;
    }

    public bool Accepts(AttentionCall call) => Scope.Accepts(call) && call.KeyLayout.Segments.Any(s => s.Kind == TokenKind.Text);

    public Tensor Invoke(AttentionCall call, Tensor q, Tensor k, Tensor v, AttentionNext next)
    {
        var text = call.KeyLayout.Segments.Where(s => s.Kind == TokenKind.Text).SelectMany(s => Enumerable.Range(0, (int)s.Length).Select(i => s.Start + i)).ToArray();
        foreach (long i in Keep)
            if (i >= text.Length)
                throw new VDiTLensException($"text_keep 'keep' index {i}: site {call.Site.Name} has {text.Length} text keys (0..{text.Length - 1})");
        long lk = k.shape[2];
        using var scope = torch.NewDisposeScope();
        var dropped = text.Where((_, i) => !Keep.Contains(i)).ToArray();
        if (dropped.Length == 0) return next(call, q, k, v);
        var isDropped = torch.zeros(lk, dtype: q.dtype, device: q.device).index_fill_(0, torch.tensor(dropped, device: q.device), 1.0);
        var hit = (Scope.PerRowHead(call, q.shape[0], q.shape[1], _ => 1.0, 0.0, q.dtype, q.device) * isDropped.view(1, 1, 1, lk)) > 0; // [B or 1, H, 1, Lk]
        var result = Mode == TextKeepMode.ZeroValues
            ? next(call, q, k, v.masked_fill(hit.transpose(-2, -1), 0.0))
            : next(call with { Mask = Combine(call.Mask, hit) }, q, k, v);
        return result.MoveToOuterDisposeScope();
    }

    private static Tensor Combine(Tensor? mask, Tensor drop) => mask switch
    {
        null => drop.logical_not(),
        { dtype: ScalarType.Bool } => mask.logical_and(drop.logical_not()),
        _ => torch.where(drop, torch.tensor(double.NegativeInfinity, dtype: mask.dtype, device: mask.device), mask),
    };
}
