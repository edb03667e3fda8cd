using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Interventions;

/// <summary>
/// Attention-map transfer with source and target run in lockstep in one batch: for each pair, the target batch row
/// takes q and k (and a per-sample mask) from the source batch row (scoped heads only), so the target attends with the source's map
/// softmax(q_src·k_srcᵀ) over its own values, at full kernel speed and without storing any map. With branches in the
/// scope, only pairs whose target row is in a scoped branch are transferred. At a joint text-video call (a layout
/// with both video and text tokens) only the video tokens' q and k are transferred unless <see cref="TransferText"/>:
/// the target's video-to-video logits become the source's, while its text tokens keep their own q and k (its prompt
/// stays what the video tokens read); self- and cross-attention calls transfer every token, as before.
/// </summary>
public sealed class MapTransfer : IAttentionIntervention
{
    public IReadOnlyList<(long Target, long Source)> Pairs { get; }
    public AttentionSelector Scope { get; }
    /// <summary>At joint calls, also transfer the text tokens' q and k (and the per-sample key mask with them).</summary>
    public bool TransferText { get; }

    public MapTransfer(IReadOnlyList<(long Target, long Source)> pairs, AttentionSelector? scope = null, bool transferText = false)
    {
        if (pairs.Count == 0) throw new VDiTLensException("map_transfer needs at least one [target, source] pair in 'pairs'");
        if (pairs.Select(p => p.Target).Distinct().Count() != pairs.Count)
            throw new VDiTLensException("map_transfer 'pairs' names a target batch index twice; each target takes one source");
        Pairs = pairs.ToArray();
        Scope = scope ?? AttentionSelector.All;
        TransferText = transferText;
    }

    public bool Accepts(AttentionCall call) => Scope.Accepts(call);

    public Tensor Invoke(AttentionCall call, Tensor q, Tensor k, Tensor v, AttentionNext next)
    {
        long batch = q.shape[0];
        foreach (var (t, s) in Pairs)
            if (t < 0 || t >= batch || s < 0 || s >= batch)
                throw new VDiTLensException($"map_transfer pair [{t}, {s}] is outside the batch of {batch} at site {call.Site.Name}; fix 'pairs'");
        var targets = Scope.RowIndices(call, batch);
        var pairs = targets is null ? Pairs : Pairs.Where(p => targets.Contains(p.Target)).ToArray();
        if (pairs.Count == 0) return next(call, q, k, v);
        using var scope = torch.NewDisposeScope();
        var heads = torch.tensor(Scope.HeadIndices(call, q.shape[1]), device: q.device);
        var queries = Tokens(call.QueryLayout, q.shape[2]);
        var keys = Tokens(call.KeyLayout, k.shape[2]);
        // a per-sample mask (text padding) follows the source too when every key is, so the target gets exactly the source's map
        if (keys.Length == k.shape[2] && call.Mask is { } m && m.dim() == 4 && m.shape[0] > 1)
        {
            var perHead = m.shape[1] > 1 ? m : m.expand(m.shape[0], q.shape[1], m.shape[2], m.shape[3]);
            call = call with { Mask = Transfer(perHead, heads, pairs, (0, perHead.shape[2])) };
        }
        return next(call, Transfer(q, heads, pairs, queries), Transfer(k, heads, pairs, keys), v).MoveToOuterDisposeScope();
    }

    /// <summary>The token range transferred: the video tokens of a layout holding both video and text (unless <see cref="TransferText"/>), else all.</summary>
    private (long Start, long Length) Tokens(TokenLayout layout, long length) =>
        !TransferText && layout.VideoSegment is { } video && layout.Segments.Any(s => s.Kind == TokenKind.Text)
            ? (video.Start, video.Length)
            : (0, length);

    /// <summary>x [B, H, N, …] with rows <c>Target</c> taking rows <c>Source</c>'s scoped heads over the tokens <paramref name="tokens"/> (axis 2).</summary>
    private static Tensor Transfer(Tensor x, Tensor heads, IReadOnlyList<(long Target, long Source)> pairs, (long Start, long Length) tokens)
    {
        var result = x.clone();
        foreach (var (t, s) in pairs)
        {
            var rows = result[t].index_select(0, heads);
            rows.narrow(1, tokens.Start, tokens.Length).copy_(x[s].index_select(0, heads).narrow(1, tokens.Start, tokens.Length));
            result[t].index_copy_(0, heads, rows);
        }
        return result;
    }
}
