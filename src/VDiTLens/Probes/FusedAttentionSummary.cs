using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>
/// Frame map, modality map, received mass and entropy of every query, computed with two extra calls of the fused
/// attention kernel instead of materialising probability rows, so the cost is two attention passes and the memory
/// O(N), at any length:
/// <list type="number">
/// <item>SDPA(q, [k; 8 × k̄], V = [frame one-hot | modality one-hot | dummy indicator]) gives each query's pooled
/// mass and, through the appended copies of the reference key k̄ (the mean key, whose logit c is known), its
/// log-partition lse = c + log 8 + log(1/d − 1) where d is the dummy column;</item>
/// <item>SDPA with keys as queries and the queries as keys, −lse carried in two extra head dimensions, plus dummies of
/// total weight 1, and V = [q | dummy indicator]: the dummy column is 1/(R + 1), which gives each key's received
/// mass R = Σ_q p(q→k), and the q columns give Σ_q p(q→k)·q, so Σ_q Σ_k p·logit = scale · Σ_k k·Σ_q p(q→k)·q and
/// the mean entropy is mean(lse) − that sum / Lq.</item>
/// </list>
/// Exact in float64/float32 arithmetic (tested against a dense reference); in bf16 it inherits bf16 rounding of the
/// kernel outputs (≈1e-2 relative). Masks must depend on keys only ([B or 1, 1 or H, 1, Lk]); calls with
/// query-dependent masks are skipped (use <see cref="AttentionMapProbe"/> for those). One-hot pooling matrices are
/// built once per layout and kept on the device.
/// </summary>
public sealed class FusedAttentionSummary(ProbeFilter? filter = null, ProbeGrouping grouping = ProbeGrouping.Site) : IAttentionProbe
{
    private readonly RunningMean _frame = new(), _modality = new(), _mass = new(), _entropy = new();
    private readonly Dictionary<string, TokenLayout> _layouts = new();
    private readonly Dictionary<string, Tensor> _constants = new();

    public ProbeFilter Filter { get; } = filter ?? ProbeFilter.All;
    public IReadOnlyDictionary<string, TokenLayout> Layouts => _layouts;

    public bool Accepts(AttentionCall call) =>
        Filter.Accepts(call) && (call.Mask is null || call.Mask.dim() < 2 || call.Mask.shape[^2] == 1);

    public void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output)
    {
        using var scope = torch.NewDisposeScope();
        string key = grouping.KeyOf(call);
        _layouts[key] = call.KeyLayout;
        var mask = call.Mask;
        if (Filter.Heads.Count > 0)
        {
            var heads = torch.tensor(Filter.Heads.ToArray(), device: q.device);
            q = q.index_select(1, heads);
            k = k.index_select(1, heads);
            if (mask is not null && mask.dim() == 4 && mask.shape[1] > 1) mask = mask.index_select(1, heads);
        }
        long b = q.shape[0], h = q.shape[1], lq = q.shape[2], lk = k.shape[2], d = q.shape[3];
        var dtype = q.dtype;
        var device = q.device;
        var work = dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        double sdpaScale = 1.0 / Math.Sqrt(d);
        var qs = q * (call.Scale / sdpaScale); // SDPA's own 1/sqrt(d) then gives logits = scale · q·k

        var frameGroups = new FrameGrouping().Assign(call.KeyLayout);
        int frames = frameGroups?.Count ?? 0;
        int width = frames + 3; // frame one-hot | text, video | dummy
        if (width > d) frames = 0; // too many frames to pool in one pass: skip the frame map
        width = frames + 3;

        // Pass 1: pooled mass and log-partition. Eight copies of the reference key keep the key count a multiple of 8
        // (the fast kernels' preference) and need no mask of their own.
        var modalities = new ModalityGrouping().Assign(call.KeyLayout)!.Value;
        var values = Constant($"values|{Signature(call.KeyLayout)}|{frames}|{d}", dtype, device, () =>
        {
            var m = torch.zeros(new[] { lk + Dummies, d }, dtype: dtype, device: device);
            if (frames > 0) m.narrow(0, 0, lk).narrow(1, 0, frames).copy_(TokenGrouping.OneHot(frameGroups!.Value.Groups, frames, dtype, device));
            m.narrow(0, 0, lk).narrow(1, frames, 2).copy_(TokenGrouping.OneHot(modalities.Groups, 2, dtype, device));
            m.narrow(0, lk, Dummies).narrow(1, frames + 2, 1).fill_(1.0);
            return m;
        });
        var reference = k.mean(new long[] { 2 }, keepdim: true); // k̄ [B, H, 1, D]
        var keysAug = torch.cat(new[] { k, reference.expand(b, h, Dummies, d) }, 2);
        var maskAug = Append(mask, Dummies);
        var pooled = nn.functional.scaled_dot_product_attention(qs, keysAug, values.expand(b, h, lk + Dummies, d), maskAug).to(work);
        var dummy = pooled[TensorIndex.Ellipsis, frames + 2];                                   // 8e^c / (Z + 8e^c)
        var c = (q.to(work) * reference.to(work)).sum(-1) * call.Scale;                        // [B, H, Lq]
        var lse = c + Math.Log(Dummies) + (1.0 / dummy - 1.0).log();
        var mass = pooled.narrow(3, 0, frames + 2) / (1.0 - dummy).unsqueeze(-1);              // Σ_k∈group p

        // Frame map: queries' video-key mass renormalised, averaged per query frame.
        var queryFrames = new FrameGrouping().Assign(call.QueryLayout);
        if (frames > 0 && queryFrames is { } qf)
            _frame.Add(key, PoolQueries(Renormalise(mass.narrow(3, 0, frames)), Constant($"frames|{Signature(call.QueryLayout)}", work, device,
                () => TokenGrouping.OneHot(qf.Groups, qf.Count, work, device))));
        var queryModalities = new ModalityGrouping().Assign(call.QueryLayout)!.Value;
        _modality.Add(key, PoolQueries(mass.narrow(3, frames, 2), Constant($"modalities|{Signature(call.QueryLayout)}", work, device,
            () => TokenGrouping.OneHot(queryModalities.Groups, 2, work, device))));

        // Pass 2: received mass and entropy. Keys attend to the queries with logit scale·k·q − lse_q; −lse_q rides in
        // two extra head dimensions (a high and a low part, so 16-bit inputs keep it to ~1e-4), and eight dummy queries
        // of weight 1/8 each give the normaliser: the dummy column is 1/(R + 1), the q columns Σ_q p(q→k)·q / (R + 1).
        long dAug = d + 8;
        double sdpaScaleAug = 1.0 / Math.Sqrt(dAug);
        var high = lse.to(dtype);
        var low = (lse - high.to(work)).to(dtype);
        var keysAsQueries = torch.zeros(new[] { b, h, lk, dAug }, dtype: dtype, device: device);
        keysAsQueries.narrow(3, 0, d).copy_(k * (call.Scale / sdpaScaleAug));
        keysAsQueries.narrow(3, d, 2).fill_(1.0 / sdpaScaleAug);
        var queriesAsKeys = torch.zeros(new[] { b, h, lq + Dummies, dAug }, dtype: dtype, device: device);
        queriesAsKeys.narrow(2, 0, lq).narrow(3, 0, d).copy_(q);
        queriesAsKeys.narrow(2, 0, lq).narrow(3, d, 1).copy_(-high.unsqueeze(-1));
        queriesAsKeys.narrow(2, 0, lq).narrow(3, d + 1, 1).copy_(-low.unsqueeze(-1));
        queriesAsKeys.narrow(2, lq, Dummies).narrow(3, d, 1).fill_(-Math.Log(Dummies));
        var queryValues = torch.zeros(new[] { b, h, lq + Dummies, dAug }, dtype: dtype, device: device);
        queryValues.narrow(2, 0, lq).narrow(3, 0, d).copy_(q);
        queryValues.narrow(2, lq, Dummies).narrow(3, d, 1).fill_(1.0);
        var reverse = nn.functional.scaled_dot_product_attention(keysAsQueries, queriesAsKeys, queryValues).to(work);
        var inverse = reverse[TensorIndex.Ellipsis, d];                                          // 1 / (R + 1)
        var valid = mask is null ? null : KeyValidity(mask, b, h, lk, work);
        var received = (1.0 / inverse - 1.0) / lq;                                               // [B, H, Lk]
        if (valid is not null) received = received * valid;
        _mass.Add(key, received);

        var weightedQueries = reverse.narrow(3, 0, d) / inverse.unsqueeze(-1);                   // Σ_q p(q→k)·q
        var expectedLogit = (k.to(work) * weightedQueries).sum(-1) * call.Scale;                 // Σ_q p(q→k)·logit(q, k)
        if (valid is not null) expectedLogit = expectedLogit * valid;
        _entropy.Add(key, lse.mean(new long[] { 2 }) - expectedLogit.sum(-1) / lq);
    }

    /// <summary>A tensor that depends only on the call's layout, built once per device and dtype.</summary>
    private Tensor Constant(string name, ScalarType dtype, Device device, Func<Tensor> build)
    {
        string key = $"{name}|{dtype}|{device}";
        if (_constants.TryGetValue(key, out var t)) return t;
        using (torch.NewDisposeScope())
            t = build().MoveToOuterDisposeScope();
        t = t.DetachFromDisposeScope();
        _constants[key] = t;
        return t;
    }

    private static string Signature(TokenLayout layout) => string.Join(";", layout.Segments);

    private const int Dummies = 8;

    public IEnumerable<KeyValuePair<string, Tensor>> Results() =>
        _frame.Means("frame_map").Concat(_modality.Means("modality_map")).Concat(_mass.Means("received_mass")).Concat(_entropy.Means("entropy"));

    private static Tensor Renormalise(Tensor pooled)
    {
        var total = pooled.sum(-1, keepdim: true);
        return pooled / torch.where(total > 0, total, torch.ones_like(total));
    }

    /// <summary>Mean of per-query rows [B, H, Lq, G] over the queries of each query group (one-hot [Lq, Gq]) → [B, H, Gq, G].</summary>
    private static Tensor PoolQueries(Tensor rows, Tensor pool)
    {
        var counts = pool.sum(dim: 0).clamp_min(1);
        return torch.matmul(pool.t().unsqueeze(0).unsqueeze(0), rows) / counts.view(1, 1, -1, 1);
    }

    /// <summary>The mask extended by <paramref name="count"/> always-kept keys.</summary>
    private static Tensor? Append(Tensor? mask, int count)
    {
        if (mask is null) return null;
        var shape = mask.shape.ToArray();
        shape[^1] = count;
        var extra = mask.dtype == ScalarType.Bool
            ? torch.ones(shape, dtype: ScalarType.Bool, device: mask.device)
            : torch.zeros(shape, dtype: mask.dtype, device: mask.device);
        return torch.cat(new[] { mask, extra }, -1);
    }

    private static Tensor KeyValidity(Tensor mask, long b, long h, long lk, ScalarType work)
    {
        var valid = mask.dtype == ScalarType.Bool ? mask : mask > -1e30;
        return valid.to(work).reshape(valid.shape[0], valid.dim() == 4 ? valid.shape[1] : 1, lk);
    }
}
