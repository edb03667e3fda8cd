using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>
/// Frame map, modality map, received mass and entropy of every query, computed with two extra calls of the fused
/// attention kernel at the model's head dimension D instead of materialising probability rows, so the cost is two
/// attention passes and the memory O(N), at any length:
/// <list type="number">
/// <item>SDPA(q, [k; 8 × k̄], V = [frame one-hot | modality one-hot | dummy indicator | k₀, k₁]) gives each query's
/// pooled mass, its expectation of the first <see cref="KeyDims"/> key dimensions, and, through the appended copies of
/// the reference key k̄ (the mean key, whose logit c is known), its log-partition lse = c + log 8 + log(1/d − 1) where
/// d is the dummy column;</item>
/// <item>SDPA with keys as queries and [q; 8 × q̄] as keys (plain logits scale·k·q), and V = [w·q₂…q_{D−1} | w |
/// dummy indicator] with w_q = exp(L − lse_q) (L the midpoint of the head's lse range, so w stays in range): the dummy
/// column gives the column normaliser Σ_q exp(scale·k·q) through the known logit of q̄, the w column then each key's
/// received mass R_k = Σ_q p(q→k), and the other columns Σ_q p(q→k)·q_j for j ≥ <see cref="KeyDims"/>.</item>
/// </list>
/// Σ_q Σ_k p·logit splits over head dimensions between the passes (j &lt; 2 from pass 1, the rest from pass 2), and the
/// mean entropy is mean(lse) − that sum / Lq. Both passes stay at head dim D with key counts L + 8, the shapes the
/// flash kernels are fastest at. Exact in float64/float32 arithmetic (tested against a dense reference); in bf16 it
/// inherits bf16 rounding of the kernel outputs (≈1e-2 relative). float16 runs the second pass in bfloat16 (w spans
/// more than float16's range). Masks must depend on keys only ([B or 1, 1 or H, 1, Lk]); calls with query-dependent
/// masks or key selections (sparse interventions), and calls whose values come out non-finite (checked at each call),
/// go to <see cref="Fallback"/>, the exact blockwise probe, or are recorded as unavailable. One-hot pooling matrices
/// are built once per layout and kept on the device.
/// </summary>
public sealed class FusedAttentionSummary(AttentionSelector? filter = null, ProbeGrouping grouping = ProbeGrouping.Site) : IAttentionProbe, IDisposable
{
    private readonly RunningMean _frame = new(), _modality = new(), _mass = new(), _entropy = new();
    private readonly Dictionary<ProbeGroup, TokenLayout> _layouts = new();
    private readonly Dictionary<string, Tensor> _constants = new();
    private readonly Dictionary<ProbeGroup, string> _unavailable = new();
    private readonly HashSet<string> _warned = new();

    /// <summary>Key dimensions whose expectation under each query's attention the first pass carries.</summary>
    public const int KeyDims = 2;

    public static readonly string[] Statistics = { "frame_map", "modality_map", "received_mass", "entropy" };

    public AttentionSelector Filter { get; } = filter ?? AttentionSelector.All;
    public ProbeGrouping Grouping { get; } = grouping;
    public IReadOnlyDictionary<ProbeGroup, TokenLayout> Layouts => _layouts;

    /// <summary>
    /// The exact blockwise probe (same statistics, filter and grouping) that takes every call the fused passes cannot
    /// summarise. Without one, such a call's results are recorded as unavailable with the reason (and
    /// <see cref="Warn"/> is told once per reason), and a call whose logits overflow the passes is an error at that call.
    /// </summary>
    public AttentionMapProbe? Fallback { get; init; }

    /// <summary>A probe that reads exactly the calls summarised here (e.g. <see cref="TopKCoverage"/> beside a blockwise fallback).</summary>
    public IAttentionProbe? Companion { get; init; }

    public Action<string>? Warn { get; init; }

    public bool Accepts(AttentionCall call) => Filter.Accepts(call);

    /// <summary>Why the fused passes cannot summarise a call (they need a mask that depends on keys only), or null.</summary>
    public static string? Unsupported(AttentionCall call) =>
        call.Keys.Count > 0 ? $"the fused probe cannot read the key selection of '{string.Join("+", call.Keys.Select(s => s.Name))}' at site {call.Site.Name}; use the blockwise probes (ProbeOptions.Fused = false)"
        : call.Mask is { } m && m.dim() >= 2 && m.shape[^2] != 1 ? $"the fused probe cannot read the query-dependent mask at site {call.Site.Name}; use the blockwise probes (ProbeOptions.Fused = false)"
        : null;

    public void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output)
    {
        using var scope = torch.NewDisposeScope();
        string? reason = Unsupported(call);
        var summaries = new List<(ProbeGroup Group, Tensor? Frame, Tensor Modality, Tensor Mass, Tensor Entropy)>();
        if (reason is null)
        {
            var heads = Filter.HeadSubset(call, q.shape[1]);
            foreach (var (group, rows) in Grouping.GroupsOf(call, Filter, q.shape[0]))
            {
                var (frame, modality, mass, entropy) = Summarise(call, AppliedAttention.Narrow(q, rows, heads), AppliedAttention.Narrow(k, rows, heads),
                    AppliedAttention.NarrowMask(call.Mask, rows, heads, null));
                summaries.Add((group, frame, modality, mass, entropy));
            }
            var finite = summaries.Select(s => torch.stack(new[] { s.Modality.sum(), s.Mass.sum(), s.Entropy.sum(), s.Frame?.sum() ?? s.Mass.sum() }).isfinite().all()).ToArray();
            if (finite.Length > 0 && !torch.stack(finite).all().item<bool>())
            {
                reason = $"the fused probe's values at site {call.Site.Name} are not finite: the attention logits span more than its passes can represent " +
                         "(≈ 80 nats between a query's largest logit and its logit against the mean key); use the blockwise probes (ProbeOptions.Fused = false)";
                if (Fallback is null) throw new VDiTLensException(reason);
            }
        }
        if (reason is null)
        {
            foreach (var (group, frame, modality, mass, entropy) in summaries)
            {
                _layouts[group] = call.KeyLayout;
                if (frame is not null) _frame.Add(group, frame);
                _modality.Add(group, modality);
                _mass.Add(group, mass);
                _entropy.Add(group, entropy);
            }
            Companion?.Observe(call, q, k, v, output);
        }
        else if (Fallback is not null) Fallback.Observe(call, q, k, v, output);
        else
        {
            foreach (var (group, _) in Grouping.GroupsOf(call, Filter, q.shape[0])) _unavailable.TryAdd(group, reason);
            if (_warned.Add(reason)) Warn?.Invoke(reason);
        }
    }

    /// <summary>Frame map (null without video frames), modality map, received mass and entropy of one group's rows and heads.</summary>
    private (Tensor? Frame, Tensor Modality, Tensor Mass, Tensor Entropy) Summarise(AttentionCall call, Tensor q, Tensor k, Tensor? mask)
    {
        long b = q.shape[0], h = q.shape[1], lq = q.shape[2], lk = k.shape[2], d = q.shape[3];
        if (d < KeyDims + 3)
            throw new VDiTLensException($"fused probes need a head dimension of at least {KeyDims + 3} (site {call.Site.Name} has {d}); use ProbeOptions.Fused = false for this model");
        var dtype = q.dtype;
        var device = q.device;
        var work = dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        double sdpaScale = 1.0 / Math.Sqrt(d);
        double factor = call.Scale / sdpaScale; // SDPA's own 1/sqrt(d) then gives logits = scale · q·k
        var qs = factor == 1.0 ? q : q * factor;

        var frameGroups = new FrameGrouping().Assign(call.KeyLayout);
        int allFrames = frameGroups?.Count ?? 0;
        // Frames pooled inside pass 1 when they fit beside the other columns; otherwise a pass of their own (below).
        int frames = allFrames + 3 + KeyDims > d ? 0 : allFrames;
        int dummyColumn = frames + 2, keyColumns = frames + 3;

        // Pass 1: pooled mass, expected key dims and log-partition. Eight copies of the reference key keep the key
        // count a multiple of 8 (the fast kernels' preference) and need no mask of their own.
        var modalities = new ModalityGrouping().Assign(call.KeyLayout)!.Value;
        var pooling = Constant($"values|{Signature(call.KeyLayout)}|{frames}|{d}", dtype, device, () =>
        {
            var m = torch.zeros(new[] { lk + Dummies, d }, dtype: dtype, device: device);
            if (frames > 0) m.narrow(0, 0, lk).narrow(1, 0, frames).copy_(TokenGrouping.OneHot(frameGroups!.Value.Groups, frames, dtype, device));
            m.narrow(0, 0, lk).narrow(1, frames, 2).copy_(TokenGrouping.OneHot(modalities.Groups, 2, dtype, device));
            m.narrow(0, lk, Dummies).narrow(1, dummyColumn, 1).fill_(1.0);
            return m;
        });
        var values = pooling.expand(b, h, lk + Dummies, d).clone();
        values.narrow(2, 0, lk).narrow(3, keyColumns, KeyDims).copy_(k.narrow(3, 0, KeyDims));
        var reference = k.mean(new long[] { 2 }, keepdim: true); // k̄ [B, H, 1, D]
        var keysAug = torch.cat(new[] { k, reference.expand(b, h, Dummies, d) }, 2);
        var pooled = nn.functional.scaled_dot_product_attention(qs, keysAug, values, Append(mask, Dummies));
        var dummy = pooled[TensorIndex.Ellipsis, dummyColumn].to(work);                        // 8e^c / (Z + 8e^c)
        var c = (qs * reference.to(work)).sum(-1) * sdpaScale;                                  // [B, H, Lq], the kernel's logit of k̄
        var lse = c + Math.Log(Dummies) + (1.0 / dummy - 1.0).log();
        var realShare = (1.0 - dummy).unsqueeze(-1);
        var mass = pooled.narrow(3, 0, frames + 2).to(work) / realShare;                        // Σ_k∈group p
        var expectedKeys = pooled.narrow(3, keyColumns, KeyDims).to(work) / realShare;          // Σ_k p·k_j, j < KeyDims
        var logitSum = (q.narrow(3, 0, KeyDims) * expectedKeys).sum(new long[] { 2, 3 }) * call.Scale; // [B, H]

        // Frame map: queries' video-key mass renormalised, averaged per query frame.
        Tensor? frameMap = null;
        var queryFrames = new FrameGrouping().Assign(call.QueryLayout);
        if (allFrames > 0 && queryFrames is { } qf)
            frameMap = PoolQueries(Renormalise(frames > 0 ? mass.narrow(3, 0, frames) : FrameMass(qs, k, mask, frameGroups!.Value, work)), Constant($"frames|{Signature(call.QueryLayout)}", work, device,
                () => TokenGrouping.OneHot(qf.Groups, qf.Count, work, device)));
        var queryModalities = new ModalityGrouping().Assign(call.QueryLayout)!.Value;
        var modalityMap = PoolQueries(mass.narrow(3, frames, 2), Constant($"modalities|{Signature(call.QueryLayout)}", work, device,
            () => TokenGrouping.OneHot(queryModalities.Groups, 2, work, device)));

        // Pass 2: received mass and the rest of the entropy (see the class comment).
        var (received, reverseLogitSum) = ReversePass(call, q, k, lse, sdpaScale, factor, work);
        var valid = mask is null ? null : KeyValidity(mask, b, h, lk, work);
        if (valid is not null)
        {
            received = received * valid;
            reverseLogitSum = reverseLogitSum * valid;
        }
        logitSum = logitSum + reverseLogitSum.sum(-1) * call.Scale;
        return (frameMap, modalityMap, received / lq, lse.mean(new long[] { 2 }) - logitSum / lq);
    }

    /// <summary>
    /// Keys attend to [q; 8 × q̄] with values [w·q_j (j ≥ KeyDims) | w | dummy indicator]: returns per key the received
    /// mass R_k = Σ_q p(q→k) and Σ_q p(q→k)·Σ_{j ≥ KeyDims} q_j·k_j (before masking and the softmax scale).
    /// </summary>
    private static (Tensor Received, Tensor LogitSum) ReversePass(AttentionCall call, Tensor q, Tensor k, Tensor lse, double sdpaScale, double factor, ScalarType work)
    {
        long b = q.shape[0], h = q.shape[1], lq = q.shape[2], d = q.shape[3];
        int rest = (int)d - KeyDims; // value columns: [0, rest) weighted q dims, rest: w, rest + 1: dummy indicator
        var pass = q.dtype == ScalarType.Float16 ? ScalarType.BFloat16 : q.dtype;
        var middle = (lse.amax(new long[] { 2 }, keepdim: true) + lse.amin(new long[] { 2 }, keepdim: true)) / 2; // [B, H, 1]
        var w = (middle - lse).exp().unsqueeze(-1);                                                               // [B, H, Lq, 1]
        var keysAsQueries = (factor == 1.0 ? k : k * factor).to(pass);
        var meanQuery = q.mean(new long[] { 2 }, keepdim: true).to(pass);                                           // q̄ [B, H, 1, D]
        var queriesAsKeys = torch.cat(new[] { q.to(pass), meanQuery.expand(b, h, Dummies, d) }, 2);
        var values = torch.empty(new[] { b, h, lq + Dummies, d }, dtype: pass, device: q.device);
        var weighted = values.narrow(2, 0, lq).narrow(3, 0, rest);
        weighted.copy_(q.narrow(3, KeyDims, rest));
        weighted.mul_(w);                                                                                           // one rounding of w·q_j
        values.narrow(2, 0, lq).narrow(3, rest, 1).copy_(w);
        values.narrow(2, 0, lq).narrow(3, rest + 1, 1).zero_();
        values.narrow(2, lq, Dummies).zero_();
        values.narrow(2, lq, Dummies).narrow(3, rest + 1, 1).fill_(1.0);
        var reverse = nn.functional.scaled_dot_product_attention(keysAsQueries, queriesAsKeys, values);
        // reverse = Σ_q e^{l_kq}·V_q / (Σ_q e^{l_kq} + 8e^{c_k}) and its dummy column 8e^{c_k} / (…), c_k the logit of q̄,
        // so Σ_q p(q→k)·V_q/w_q·… = reverse · 8e^{c_k − L} / dummy.
        var dummy = reverse[TensorIndex.Ellipsis, rest + 1].to(work);
        var c = (keysAsQueries * meanQuery.to(work)).sum(-1) * sdpaScale;                                           // [B, H, Lk]
        var scaleBack = (c + Math.Log(Dummies) - middle - dummy.log()).exp();
        var received = reverse[TensorIndex.Ellipsis, rest].to(work) * scaleBack;
        var logitSum = (k.narrow(3, KeyDims, rest) * reverse.narrow(3, 0, rest).to(work)).sum(-1) * scaleBack;
        return (received, logitSum);
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

    /// <summary>The means, with the reason for every group whose calls could not be summarised (without a fallback).</summary>
    public ProbeResults Results()
    {
        var results = _frame.Means("frame_map").Concat(_modality.Means("modality_map")).Concat(_mass.Means("received_mass"))
            .Concat(_entropy.Means("entropy")).ToList();
        foreach (var (group, reason) in _unavailable)
            results.AddRange(Statistics.Select(statistic => new ProbeResult(new ProbeKey(group, statistic), null, 0, reason)));
        return new ProbeResults(results);
    }

    public void Dispose()
    {
        foreach (var m in new[] { _frame, _modality, _mass, _entropy }) m.Dispose();
        foreach (var t in _constants.Values) t.Dispose();
        _constants.Clear();
        (Fallback as IDisposable)?.Dispose();
        (Companion as IDisposable)?.Dispose();
    }

    /// <summary>Σ_k∈frame p per query [B, H, Lq, F] by one attention pass whose values are the keys' frame one-hot
    /// (for layouts with more frames than pass 1 has spare value columns).</summary>
    private static Tensor FrameMass(Tensor qs, Tensor k, Tensor? mask, (long[] Groups, int Count) frames, ScalarType work)
    {
        long b = k.shape[0], h = k.shape[1], lk = k.shape[2];
        var oneHot = TokenGrouping.OneHot(frames.Groups, frames.Count, k.dtype, k.device).expand(b, h, lk, frames.Count);
        return nn.functional.scaled_dot_product_attention(qs, k, oneHot, mask).to(work);
    }

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
