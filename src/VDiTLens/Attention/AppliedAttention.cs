using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Attention;

/// <summary>
/// The attention a call actually applies: softmax(q·kᵀ·scale + mask) with the call's key selections
/// (<see cref="AttentionCall.Keys"/>) dropping keys. <see cref="Compute"/> is the seam's kernel for calls with
/// selections; <see cref="Logits"/> gives probes the same logits for any query rows, batch rows and heads.
/// </summary>
public static class AppliedAttention
{
    /// <summary>Bytes per query-key pair of a block: logits, probabilities, masked logits, keep/valid masks and a sparsifier's sort temporaries.</summary>
    private static long BytesPerPair(ScalarType dtype) => dtype == ScalarType.Float64 ? 56 : 40;

    /// <summary>
    /// Block size on the CPU, below any larger budget: the selection's row-wise passes (kthvalue, cumsum, sums) over
    /// blocks that stay near the cache ran about 6 times faster per call than over 256 MB blocks (one call of the
    /// embedded model, [8, 4, 576, 576], 1 thread), with the same output. Rows are independent, so the block size
    /// changes no selected key.
    /// </summary>
    private const long CpuBlockBytes = 64L << 20;

    /// <summary>What the seam's terminal step computes for a call with the dense kernel: SDPA, or <see cref="Compute"/> with key selections.</summary>
    public static Tensor Output(AttentionCall call, Tensor q, Tensor k, Tensor v) =>
        call.Keys.Count == 0 ? AttentionSeam.DenseKernel(call, q, k, v) : Compute(call, q, k, v, AttentionSeam.DenseKernel);

    /// <summary>Output [B, H, Lq, D] of a call with key selections; <paramref name="dense"/> computes the untouched rows and heads.</summary>
    public static Tensor Compute(AttentionCall call, Tensor q, Tensor k, Tensor v, AttentionNext dense)
    {
        if (call.Keys.Count == 1 && call.Keys[0].Kernel is { } fast && call.Mask is null)
            return fast(call, q, k, v);
        using var scope = torch.NewDisposeScope();
        var (rows, heads) = call.Keys.Count == 1 ? (call.Keys[0].Rows, call.Keys[0].Heads) : (null, null);
        var dtype = q.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var (qs, ks, vs) = (Narrow(q, rows, heads).to(dtype), Narrow(k, rows, heads).to(dtype), Narrow(v, rows, heads).to(dtype));
        var mask = NarrowMask(call.Mask, rows, heads, null);
        long b = qs.shape[0], h = qs.shape[1], lq = qs.shape[2], lk = ks.shape[2];
        var output = torch.empty(new[] { b, h, lq, vs.shape[3] }, dtype: dtype, device: q.device);
        var counts = call.Keys.Select(_ => (Kept: torch.zeros(1, dtype: ScalarType.Float64, device: q.device), Total: torch.zeros(1, dtype: ScalarType.Float64, device: q.device))).ToArray();
        long budget = call.Keys.Min(s => s.MemoryBudgetBytes);
        long rowsPerBlock = Math.Max(1, Math.Min(budget, q.device.type == DeviceType.CPU ? CpuBlockBytes : long.MaxValue) / (b * h * lk * BytesPerPair(dtype)));
        for (long start = 0; start < lq; start += rowsPerBlock)
        {
            using var blockScope = torch.NewDisposeScope();
            long length = Math.Min(rowsPerBlock, lq - start);
            var queryRows = torch.arange(start, start + length, dtype: ScalarType.Int64, device: q.device);
            var logits = Masked(torch.matmul(qs.narrow(2, start, length), ks.transpose(-2, -1)) * call.Scale, NarrowMask(mask, null, null, queryRows));
            logits = Select(call.Keys, logits, queryRows, rows, heads, counts);
            var p = logits.softmax(-1).nan_to_num(0.0);
            output.narrow(2, start, length).copy_(torch.matmul(p, vs));
        }
        for (int i = 0; i < call.Keys.Count; i++)
            call.Keys[i].Applied?.Invoke(call, counts[i].Kept.item<double>(), counts[i].Total.item<double>());
        var result = output.to(q.dtype);
        if (rows is not null || heads is not null)
        {
            var full = dense(call with { Keys = Array.Empty<KeySelection>() }, q, k, v);
            result = Scatter(full, result, rows, heads);
        }
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Logits [b, h, n, Lk] of the query positions <paramref name="queryRows"/> (int64) as applied: scaled, masked, key
    /// selections applied (dropped keys -inf), for the batch rows <paramref name="batchRows"/> and heads
    /// <paramref name="heads"/> (null = all), in <paramref name="dtype"/>. Fully masked rows are all -inf.
    /// </summary>
    public static Tensor Logits(AttentionCall call, Tensor q, Tensor k, Tensor queryRows, long[]? batchRows, long[]? heads, ScalarType dtype)
    {
        // Selections see logits of their own sub-space, so with selections the logits are computed on all rows and heads first.
        // 16-bit products are upcast as the kernel of the model would round them; with selections, they are computed in
        // the selection kernel's dtype so both choose the same keys.
        if (call.Keys.Count == 0)
        {
            var qb = Narrow(q, batchRows, heads).index_select(2, queryRows);
            return Masked(torch.matmul(qb, Narrow(k, batchRows, heads).transpose(-2, -1)).to(dtype) * call.Scale,
                NarrowMask(call.Mask, batchRows, heads, queryRows));
        }
        var work = q.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var logits = Masked(torch.matmul(q.index_select(2, queryRows).to(work), k.to(work).transpose(-2, -1)) * call.Scale,
            NarrowMask(call.Mask, null, null, queryRows));
        logits = Select(call.Keys, logits, queryRows, null, null, null);
        return Narrow(logits, batchRows, heads).to(dtype);
    }

    /// <summary>Applies each selection in order to logits that cover rows <paramref name="rows"/> and heads <paramref name="heads"/> of the call.</summary>
    private static Tensor Select(IReadOnlyList<KeySelection> keys, Tensor logits, Tensor queryRows, long[]? rows, long[]? heads,
        (Tensor Kept, Tensor Total)[]? counts)
    {
        for (int i = 0; i < keys.Count; i++)
        {
            var selection = keys[i];
            bool own = selection.Covers(rows, heads);
            if (!own && (rows is not null || heads is not null))
                throw new InvalidOperationException("key selections of different sub-spaces need logits of the whole call");
            var sub = own ? logits : Narrow(logits, selection.Rows, selection.Heads);
            var block = new QueryBlock(queryRows, sub);
            var keep = selection.Keep(block).logical_or(block.Valid.logical_not());
            if (counts is not null)
            {
                var valid = block.Valid;
                counts[i].Kept.add_(keep.logical_and(valid).sum().to(ScalarType.Float64));
                counts[i].Total.add_(valid.sum().to(ScalarType.Float64));
            }
            var applied = sub.masked_fill(keep.logical_not(), double.NegativeInfinity);
            logits = own ? applied : Scatter(logits, applied, selection.Rows, selection.Heads);
        }
        return logits;
    }

    private static Tensor Masked(Tensor logits, Tensor? mask) =>
        mask is null ? logits
        : mask.dtype == ScalarType.Bool ? logits.masked_fill(mask.logical_not(), double.NegativeInfinity)
        : logits + mask.to(logits.dtype);

    /// <summary>x [B, H, …] restricted to the given batch rows and heads (null = all).</summary>
    public static Tensor Narrow(Tensor x, long[]? rows, long[]? heads)
    {
        if (rows is not null) x = x.index_select(0, torch.tensor(rows, device: x.device));
        if (heads is not null) x = x.index_select(1, torch.tensor(heads, device: x.device));
        return x;
    }

    /// <summary>
    /// A mask (broadcastable to [B, H, Lq, Lk]) restricted to batch rows, heads and query positions (null = all);
    /// dimensions of size 1 stay broadcast.
    /// </summary>
    public static Tensor? NarrowMask(Tensor? mask, long[]? rows, long[]? heads, Tensor? queryRows)
    {
        if (mask is null) return null;
        while (mask.dim() < 4) mask = mask.unsqueeze(0);
        if (rows is not null && mask.shape[0] > 1) mask = mask.index_select(0, torch.tensor(rows, device: mask.device));
        if (heads is not null && mask.shape[1] > 1) mask = mask.index_select(1, torch.tensor(heads, device: mask.device));
        if (queryRows is not null && mask.shape[2] > 1) mask = mask.index_select(2, queryRows);
        return mask;
    }

    /// <summary><paramref name="full"/> with the given batch rows and heads replaced by <paramref name="part"/>.</summary>
    private static Tensor Scatter(Tensor full, Tensor part, long[]? rows, long[]? heads)
    {
        var result = full.clone();
        if (rows is null)
        {
            if (heads is null) return part;
            return result.index_copy_(1, torch.tensor(heads, device: full.device), part);
        }
        var rowIndex = torch.tensor(rows, device: full.device);
        var selectedRows = result.index_select(0, rowIndex);
        if (heads is not null) selectedRows.index_copy_(1, torch.tensor(heads, device: full.device), part);
        else selectedRows = part;
        return result.index_copy_(0, rowIndex, selectedRows);
    }
}
